// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test, Vm} from "forge-std/Test.sol";
import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {BudgetVault} from "../src/BudgetVault.sol";
import {CashbackToken} from "../src/CashbackToken.sol";
import {RewardDistributor} from "../src/RewardDistributor.sol";
import {IRewardDistributor} from "../src/interfaces/IRewardDistributor.sol";
import {Debits} from "./utils/Debits.sol";
import {MerkleBuilder} from "./utils/MerkleBuilder.sol";

/// Unit tests of RewardDistributor: budgets, epoch publication, claims, pausing and views.
contract RewardDistributorTest is Test {
    bytes32 private constant COMMITMENT = keccak256("epoch records");
    uint256 private constant MINTED = 10_000e18;
    uint256 private constant BUDGET = 1_000e18;

    CashbackToken private token;
    RewardDistributor private distributor;

    address private admin = makeAddr("admin");
    address private operator = makeAddr("operator");
    address private pauser = makeAddr("pauser");
    address private brandA = makeAddr("brandA");
    address private brandB = makeAddr("brandB");
    address private sponsor = makeAddr("sponsor");
    address private alice = makeAddr("alice");
    address private bob = makeAddr("bob");
    address private carol = makeAddr("carol");
    address private relayer = makeAddr("relayer");
    address private stranger = makeAddr("stranger");

    function setUp() public {
        token = new CashbackToken(admin);
        distributor = new RewardDistributor(address(token), admin);

        vm.startPrank(admin);
        distributor.grantRole(distributor.OPERATOR_ROLE(), operator);
        distributor.grantRole(distributor.PAUSER_ROLE(), pauser);
        token.mint(brandA, MINTED);
        token.mint(brandB, MINTED);
        token.mint(sponsor, MINTED);
        vm.stopPrank();

        address[3] memory funders = [brandA, brandB, sponsor];
        for (uint256 i; i < funders.length; ++i) {
            vm.prank(funders[i]);
            token.approve(address(distributor), type(uint256).max);
        }
    }

    // ----------------------------------------------------------------------------------------
    // Fixtures: epoch 1 gives alice 100, bob 50, carol 30 (three leaves, so one is promoted);
    // epoch 2 raises alice to 250 and carol to 80 (increase 200, paid 120 by A and 80 by B).
    // ----------------------------------------------------------------------------------------

    function _epoch1() private view returns (address[] memory accounts, uint256[] memory amounts) {
        accounts = _addresses(alice, bob, carol);
        amounts = _amounts(100e18, 50e18, 30e18);
    }

    function _epoch2() private view returns (address[] memory accounts, uint256[] memory amounts) {
        accounts = _addresses(alice, bob, carol);
        amounts = _amounts(250e18, 50e18, 80e18);
    }

    function _fundBrands() private {
        _deposit(brandA, BUDGET);
        _deposit(brandB, BUDGET);
    }

    function _publishEpoch1() private returns (bytes32 root) {
        (address[] memory accounts, uint256[] memory amounts) = _epoch1();
        root = MerkleBuilder.root(accounts, amounts);
        _publish(root, _addresses(brandA), _amounts(180e18));
    }

    function _publishEpoch2() private returns (bytes32 root) {
        (address[] memory accounts, uint256[] memory amounts) = _epoch2();
        root = MerkleBuilder.root(accounts, amounts);
        _publish(root, _addresses(brandA, brandB), _amounts(120e18, 80e18));
    }

    function _proof1(uint256 index) private view returns (bytes32[] memory proof) {
        (address[] memory accounts, uint256[] memory amounts) = _epoch1();
        (, proof) = MerkleBuilder.build(accounts, amounts, index);
    }

    function _proof2(uint256 index) private view returns (bytes32[] memory proof) {
        (address[] memory accounts, uint256[] memory amounts) = _epoch2();
        (, proof) = MerkleBuilder.build(accounts, amounts, index);
    }

    function _deposit(address brand, uint256 amount) private {
        vm.prank(brand);
        distributor.deposit(brand, amount);
    }

    function _publish(bytes32 root, address[] memory brands, uint256[] memory amounts) private {
        _publish(root, Debits.pack(brands, amounts));
    }

    function _publish(bytes32 root, uint256[] memory debits) private {
        uint64 epoch = distributor.currentEpoch() + 1;
        vm.prank(operator);
        distributor.publishEpoch(epoch, root, COMMITMENT, debits);
    }

    /// @dev The vault holds exactly the brands' unspent budgets.
    function _assertVaultHoldsBudgets() private view {
        assertEq(token.balanceOf(distributor.vault()), distributor.budgetOf(brandA) + distributor.budgetOf(brandB));
    }

    /// @dev The distributor holds exactly what epochs allocated and claims have not paid yet.
    function _assertUnclaimed(uint256 claimedInAll) private view {
        assertEq(token.balanceOf(address(distributor)), distributor.totalAllocated() - claimedInAll);
    }

    function _addresses(address a) private pure returns (address[] memory list) {
        list = new address[](1);
        list[0] = a;
    }

    function _addresses(address a, address b) private pure returns (address[] memory list) {
        list = new address[](2);
        (list[0], list[1]) = (a, b);
    }

    function _addresses(address a, address b, address c) private pure returns (address[] memory list) {
        list = new address[](3);
        (list[0], list[1], list[2]) = (a, b, c);
    }

    function _amounts(uint256 a) private pure returns (uint256[] memory list) {
        list = new uint256[](1);
        list[0] = a;
    }

    function _amounts(uint256 a, uint256 b) private pure returns (uint256[] memory list) {
        list = new uint256[](2);
        (list[0], list[1]) = (a, b);
    }

    function _amounts(uint256 a, uint256 b, uint256 c) private pure returns (uint256[] memory list) {
        list = new uint256[](3);
        (list[0], list[1], list[2]) = (a, b, c);
    }

    function _debits(uint256 a) private pure returns (uint256[] memory list) {
        list = new uint256[](1);
        list[0] = a;
    }

    function _proofs(bytes32[] memory a, bytes32[] memory b) private pure returns (bytes32[][] memory list) {
        list = new bytes32[][](2);
        (list[0], list[1]) = (a, b);
    }

    function _proofs(bytes32[] memory a, bytes32[] memory b, bytes32[] memory c)
        private
        pure
        returns (bytes32[][] memory list)
    {
        list = new bytes32[][](3);
        (list[0], list[1], list[2]) = (a, b, c);
    }

    function _countClaimedEvents(Vm.Log[] memory logs) private view returns (uint256 count) {
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(distributor) && logs[i].topics[0] == IRewardDistributor.Claimed.selector) {
                ++count;
            }
        }
    }

    // ----------------------------------------------------------------------------------------
    // constructor and roles
    // ----------------------------------------------------------------------------------------

    function test_constructor_GrantsAllRolesToAdmin() public view {
        assertTrue(distributor.hasRole(distributor.DEFAULT_ADMIN_ROLE(), admin));
        assertTrue(distributor.hasRole(distributor.OPERATOR_ROLE(), admin));
        assertTrue(distributor.hasRole(distributor.PAUSER_ROLE(), admin));
    }

    function test_constructor_StartsEmpty() public view {
        assertEq(distributor.currentEpoch(), 0);
        assertEq(distributor.currentRoot(), bytes32(0));
        assertEq(distributor.previousRoot(), bytes32(0));
        assertEq(distributor.totalAllocated(), 0);
        assertEq(token.balanceOf(address(distributor)), 0);
        assertFalse(distributor.paused());
    }

    function test_constructor_CreatesVaultOwnedByDistributor() public view {
        BudgetVault vault = BudgetVault(distributor.vault());

        assertGt(address(vault).code.length, 0);
        assertEq(vault.distributor(), address(distributor));
        assertEq(token.balanceOf(address(vault)), 0);
    }

    function test_constructor_EachDistributorHasItsOwnVault() public {
        RewardDistributor other = new RewardDistributor(address(token), admin);

        assertTrue(other.vault() != distributor.vault());
        assertEq(BudgetVault(other.vault()).distributor(), address(other));
    }

    function test_RevertWhen_ConstructorTokenIsZero() public {
        vm.expectRevert(IRewardDistributor.ZeroAddress.selector);
        new RewardDistributor(address(0), admin);
    }

    function test_RevertWhen_ConstructorAdminIsZero() public {
        vm.expectRevert(IRewardDistributor.ZeroAddress.selector);
        new RewardDistributor(address(token), address(0));
    }

    function test_roles_AreHashesOfTheirNames() public view {
        assertEq(distributor.OPERATOR_ROLE(), keccak256("OPERATOR_ROLE"));
        assertEq(distributor.PAUSER_ROLE(), keccak256("PAUSER_ROLE"));
    }

    function test_RevertWhen_GrantRoleByNonAdmin() public {
        bytes32 role = distributor.OPERATOR_ROLE();
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, distributor.DEFAULT_ADMIN_ROLE()
            )
        );
        vm.prank(stranger);
        distributor.grantRole(role, stranger);
    }

    // ----------------------------------------------------------------------------------------
    // deposit
    // ----------------------------------------------------------------------------------------

    function test_deposit_CreditsBudgetAndPullsTokensIntoVault() public {
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.BudgetDeposited(brandA, brandA, 300e18);
        vm.prank(brandA);
        distributor.deposit(brandA, 300e18);

        assertEq(distributor.budgetOf(brandA), 300e18);
        assertEq(token.balanceOf(distributor.vault()), 300e18);
        // Budgets never sit in the distributor itself, so claims cannot reach them.
        assertEq(token.balanceOf(address(distributor)), 0);
        assertEq(token.balanceOf(brandA), MINTED - 300e18);
    }

    function test_deposit_ByThirdPartyCreditsBrand() public {
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.BudgetDeposited(brandB, sponsor, 40e18);
        vm.prank(sponsor);
        distributor.deposit(brandB, 40e18);

        assertEq(distributor.budgetOf(brandB), 40e18);
        assertEq(distributor.budgetOf(sponsor), 0);
        assertEq(token.balanceOf(sponsor), MINTED - 40e18);
        assertEq(token.balanceOf(distributor.vault()), 40e18);
    }

    function test_deposit_AddsUp() public {
        _deposit(brandA, 1e18);
        _deposit(brandA, 2e18);

        assertEq(distributor.budgetOf(brandA), 3e18);
    }

    function test_RevertWhen_DepositWhilePaused() public {
        vm.prank(pauser);
        distributor.pause();

        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(brandA);
        distributor.deposit(brandA, 5e18);
    }

    function test_RevertWhen_DepositBrandIsZero() public {
        vm.expectRevert(IRewardDistributor.ZeroAddress.selector);
        vm.prank(sponsor);
        distributor.deposit(address(0), 1e18);
    }

    function test_RevertWhen_DepositAmountIsZero() public {
        vm.expectRevert(IRewardDistributor.ZeroAmount.selector);
        vm.prank(brandA);
        distributor.deposit(brandA, 0);
    }

    function test_RevertWhen_DepositWithoutAllowance() public {
        vm.prank(admin);
        token.mint(stranger, 1e18);

        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(distributor), 0, 1e18)
        );
        vm.prank(stranger);
        distributor.deposit(brandA, 1e18);
    }

    function test_RevertWhen_DepositExceedsBalance() public {
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, brandA, MINTED, MINTED + 1)
        );
        vm.prank(brandA);
        distributor.deposit(brandA, MINTED + 1);
    }

    // ----------------------------------------------------------------------------------------
    // withdraw
    // ----------------------------------------------------------------------------------------

    function test_withdraw_DebitsBudgetAndPaysRecipient() public {
        _deposit(brandA, 100e18);

        vm.expectEmit(address(distributor));
        emit IRewardDistributor.BudgetWithdrawn(brandA, stranger, 30e18);
        vm.prank(brandA);
        distributor.withdraw(30e18, stranger);

        assertEq(distributor.budgetOf(brandA), 70e18);
        assertEq(token.balanceOf(stranger), 30e18);
        assertEq(token.balanceOf(distributor.vault()), 70e18);
    }

    function test_withdraw_WholeBudget() public {
        _deposit(brandA, 100e18);

        vm.prank(brandA);
        distributor.withdraw(100e18, brandA);

        assertEq(distributor.budgetOf(brandA), 0);
        assertEq(token.balanceOf(brandA), MINTED);
    }

    function test_withdraw_WorksWhilePaused() public {
        _deposit(brandA, 100e18);
        vm.prank(pauser);
        distributor.pause();

        vm.prank(brandA);
        distributor.withdraw(100e18, brandA);

        assertEq(distributor.budgetOf(brandA), 0);
        assertEq(token.balanceOf(brandA), MINTED);
    }

    function test_RevertWhen_WithdrawExceedsBudget() public {
        _deposit(brandA, 100e18);

        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.InsufficientBudget.selector, brandA, 100e18, 100e18 + 1)
        );
        vm.prank(brandA);
        distributor.withdraw(100e18 + 1, brandA);
    }

    function test_RevertWhen_WithdrawFromAnotherBrandsBudget() public {
        _deposit(brandA, 100e18);

        // withdraw only ever touches the caller's own budget, which is empty here.
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InsufficientBudget.selector, stranger, 0, 1));
        vm.prank(stranger);
        distributor.withdraw(1, stranger);
    }

    function test_RevertWhen_WithdrawAllocatedBudget() public {
        _fundBrands();
        _publishEpoch1();

        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.InsufficientBudget.selector, brandA, BUDGET - 180e18, BUDGET)
        );
        vm.prank(brandA);
        distributor.withdraw(BUDGET, brandA);
    }

    function test_RevertWhen_WithdrawAmountIsZero() public {
        _deposit(brandA, 100e18);

        vm.expectRevert(IRewardDistributor.ZeroAmount.selector);
        vm.prank(brandA);
        distributor.withdraw(0, brandA);
    }

    function test_RevertWhen_WithdrawToZeroAddress() public {
        _deposit(brandA, 100e18);

        vm.expectRevert(IRewardDistributor.ZeroAddress.selector);
        vm.prank(brandA);
        distributor.withdraw(1e18, address(0));
    }

    function test_RevertWhen_WithdrawToDistributorOrVault() public {
        _deposit(brandA, 100e18);

        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InvalidRecipient.selector, address(distributor)));
        vm.prank(brandA);
        distributor.withdraw(1e18, address(distributor));

        address vault = distributor.vault();
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InvalidRecipient.selector, vault));
        vm.prank(brandA);
        distributor.withdraw(1e18, vault);
    }

    // ----------------------------------------------------------------------------------------
    // publishEpoch
    // ----------------------------------------------------------------------------------------

    function test_publishEpoch_StoresRootAndDebitsBudgets() public {
        _fundBrands();
        bytes32 root = keccak256("root 1");
        uint256[] memory debits = Debits.pack(_addresses(brandA, brandB), _amounts(120e18, 80e18));

        vm.expectEmit(address(distributor));
        emit IRewardDistributor.EpochPublished(1, root, COMMITMENT, 200e18, debits);
        vm.prank(operator);
        distributor.publishEpoch(1, root, COMMITMENT, debits);

        assertEq(distributor.currentEpoch(), 1);
        assertEq(distributor.currentRoot(), root);
        assertEq(distributor.previousRoot(), bytes32(0));
        assertEq(distributor.budgetOf(brandA), BUDGET - 120e18);
        assertEq(distributor.budgetOf(brandB), BUDGET - 80e18);
        assertEq(distributor.totalAllocated(), 200e18);
        // The epoch's total moves from the vault to the distributor, where claims can reach it.
        assertEq(token.balanceOf(address(distributor)), 200e18);
        assertEq(token.balanceOf(distributor.vault()), 2 * BUDGET - 200e18);
    }

    function test_publishEpoch_PacksDebits() public {
        _fundBrands();
        // brandB's amount uses every one of the 96 low bits that hold it.
        vm.prank(admin);
        token.mint(brandB, Debits.MAX_AMOUNT);
        _deposit(brandB, Debits.MAX_AMOUNT);
        uint256[] memory debits = new uint256[](2);
        debits[0] = uint256(uint160(brandA)) << 96 | 7e18;
        debits[1] = uint256(uint160(brandB)) << 96 | Debits.MAX_AMOUNT;

        vm.recordLogs();
        vm.prank(operator);
        distributor.publishEpoch(1, keccak256("root"), COMMITMENT, debits);

        Vm.Log[] memory logs = vm.getRecordedLogs();
        Vm.Log memory published;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == IRewardDistributor.EpochPublished.selector) published = logs[i];
        }
        assertEq(published.emitter, address(distributor));
        assertEq(published.topics[1], bytes32(uint256(1)));
        (bytes32 root, bytes32 commitment, uint256 total, uint256[] memory emitted) =
            abi.decode(published.data, (bytes32, bytes32, uint256, uint256[]));
        assertEq(root, keccak256("root"));
        assertEq(commitment, COMMITMENT);
        assertEq(total, 7e18 + Debits.MAX_AMOUNT);
        assertEq(emitted.length, 2);
        // An indexer decodes each debit as brand = high 160 bits, amount = low 96 bits.
        assertEq(address(uint160(emitted[0] >> 96)), brandA);
        assertEq(emitted[0] & Debits.MAX_AMOUNT, 7e18);
        assertEq(address(uint160(emitted[1] >> 96)), brandB);
        assertEq(emitted[1] & Debits.MAX_AMOUNT, Debits.MAX_AMOUNT);
        // ...and the budgets were debited by exactly those amounts.
        assertEq(distributor.budgetOf(brandA), BUDGET - 7e18);
        assertEq(distributor.budgetOf(brandB), BUDGET);
        assertEq(distributor.totalAllocated(), total);
    }

    function testFuzz_publishEpoch_DebitsPackedBrandAndAmount(address brand, uint256 budget, uint256 amount) public {
        if (brand == address(0)) brand = sponsor;
        budget = bound(budget, 1, Debits.MAX_AMOUNT);
        amount = bound(amount, 0, budget);
        vm.prank(admin);
        token.mint(address(this), budget);
        token.approve(address(distributor), budget);
        distributor.deposit(brand, budget);

        _publish(keccak256("root"), _debits(Debits.pack(brand, amount)));

        assertEq(distributor.budgetOf(brand), budget - amount);
        assertEq(distributor.totalAllocated(), amount);
        assertEq(token.balanceOf(address(distributor)), amount);
        assertEq(token.balanceOf(distributor.vault()), budget - amount);
    }

    function test_publishEpoch_RotatesRoots() public {
        _fundBrands();
        bytes32 root1 = _publishEpoch1();
        bytes32 root2 = _publishEpoch2();

        assertEq(distributor.currentEpoch(), 2);
        assertEq(distributor.currentRoot(), root2);
        assertEq(distributor.previousRoot(), root1);
        assertEq(distributor.totalAllocated(), 380e18);
    }

    function test_publishEpoch_SameBrandListedTwiceIsDebitedTwice() public {
        _deposit(brandA, 100e18);

        _publish(keccak256("root"), _addresses(brandA, brandA), _amounts(60e18, 40e18));

        assertEq(distributor.budgetOf(brandA), 0);
        assertEq(distributor.totalAllocated(), 100e18);
        assertEq(token.balanceOf(address(distributor)), 100e18);
        assertEq(token.balanceOf(distributor.vault()), 0);
    }

    function test_publishEpoch_ZeroDebitMovesNothing() public {
        _fundBrands();

        _publish(keccak256("root"), _addresses(brandA), _amounts(0));

        assertEq(distributor.budgetOf(brandA), BUDGET);
        assertEq(distributor.totalAllocated(), 0);
        assertEq(token.balanceOf(address(distributor)), 0);
        _assertVaultHoldsBudgets();
    }

    function test_publishEpoch_WithoutBrandsAllocatesNothing() public {
        _publish(keccak256("root"), new uint256[](0));

        assertEq(distributor.currentEpoch(), 1);
        assertEq(distributor.totalAllocated(), 0);
    }

    function test_publishEpoch_ByAdminHoldingOperatorRole() public {
        vm.prank(admin);
        distributor.publishEpoch(1, keccak256("root"), COMMITMENT, new uint256[](0));

        assertEq(distributor.currentEpoch(), 1);
    }

    function test_RevertWhen_EpochOutOfOrder() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.EpochOutOfOrder.selector, 1, 2));
        vm.prank(operator);
        distributor.publishEpoch(2, keccak256("root"), COMMITMENT, new uint256[](0));
    }

    function test_RevertWhen_EpochIsZero() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.EpochOutOfOrder.selector, 1, 0));
        vm.prank(operator);
        distributor.publishEpoch(0, keccak256("root"), COMMITMENT, new uint256[](0));
    }

    function test_RevertWhen_EpochPublishedTwice() public {
        _fundBrands();
        _publishEpoch1();
        (address[] memory accounts, uint256[] memory amounts) = _epoch2();
        bytes32 root2 = MerkleBuilder.root(accounts, amounts);

        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.EpochOutOfOrder.selector, 2, 1));
        vm.prank(operator);
        distributor.publishEpoch(1, root2, COMMITMENT, Debits.pack(_addresses(brandA), _amounts(200e18)));
    }

    function test_RevertWhen_PublishExceedsBrandBudget() public {
        _fundBrands();

        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.InsufficientBudget.selector, brandB, BUDGET, BUDGET + 1)
        );
        vm.prank(operator);
        distributor.publishEpoch(
            1, keccak256("root"), COMMITMENT, Debits.pack(_addresses(brandA, brandB), _amounts(1e18, BUDGET + 1))
        );
    }

    function test_RevertWhen_PublishDebitsBrandWithoutBudget() public {
        _fundBrands();

        // A debit naming a brand that never deposited (here the zero brand) cannot be paid.
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InsufficientBudget.selector, address(0), 0, 1));
        vm.prank(operator);
        distributor.publishEpoch(1, keccak256("root"), COMMITMENT, _debits(Debits.pack(address(0), 1)));
    }

    function test_RevertWhen_PublishDebitsBrandTwiceBeyondBudget() public {
        _deposit(brandA, 100e18);

        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InsufficientBudget.selector, brandA, 40e18, 41e18));
        vm.prank(operator);
        distributor.publishEpoch(
            1, keccak256("root"), COMMITMENT, Debits.pack(_addresses(brandA, brandA), _amounts(60e18, 41e18))
        );
    }

    function test_RevertWhen_RootIsZero() public {
        vm.expectRevert(IRewardDistributor.ZeroRoot.selector);
        vm.prank(operator);
        distributor.publishEpoch(1, bytes32(0), COMMITMENT, new uint256[](0));
    }

    function test_RevertWhen_PublisherLacksOperatorRole() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, distributor.OPERATOR_ROLE()
            )
        );
        vm.prank(stranger);
        distributor.publishEpoch(1, keccak256("root"), COMMITMENT, new uint256[](0));
    }

    function test_RevertWhen_PublishWhilePaused() public {
        vm.prank(pauser);
        distributor.pause();

        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(operator);
        distributor.publishEpoch(1, keccak256("root"), COMMITMENT, new uint256[](0));
    }

    // ----------------------------------------------------------------------------------------
    // claim
    // ----------------------------------------------------------------------------------------

    function test_claim_PaysCumulativeAmount() public {
        _fundBrands();
        _publishEpoch1();
        bytes32[] memory proof = _proof1(0);

        vm.expectEmit(address(distributor));
        emit IRewardDistributor.Claimed(alice, 100e18, 100e18);
        vm.prank(alice);
        uint256 paid = distributor.claim(alice, 100e18, proof);

        assertEq(paid, 100e18);
        assertEq(token.balanceOf(alice), 100e18);
        assertEq(distributor.claimed(alice), 100e18);
        _assertUnclaimed(100e18);
    }

    function test_claim_PromotedLeafWithShortProof() public {
        _fundBrands();
        _publishEpoch1();
        // carol is the odd third leaf: promoted at the first level, so her proof has one element.
        bytes32[] memory proof = _proof1(2);
        assertEq(proof.length, 1);

        distributor.claim(carol, 30e18, proof);

        assertEq(token.balanceOf(carol), 30e18);
    }

    function test_claim_ByRelayerPaysAccount() public {
        _fundBrands();
        _publishEpoch1();

        vm.prank(relayer);
        distributor.claim(bob, 50e18, _proof1(1));

        assertEq(token.balanceOf(bob), 50e18);
        assertEq(token.balanceOf(relayer), 0);
    }

    function test_claim_CoveringTwoEpochsPaysSum() public {
        _fundBrands();
        _publishEpoch1();
        _publishEpoch2();

        // alice earned 100 in epoch 1 and 150 in epoch 2; one claim against epoch 2 pays both.
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.Claimed(alice, 250e18, 250e18);
        uint256 paid = distributor.claim(alice, 250e18, _proof2(0));

        assertEq(paid, 250e18);
        assertEq(token.balanceOf(alice), 250e18);
        assertEq(distributor.claimed(alice), 250e18);
    }

    function test_claim_PaysOnlyTheIncreaseAfterEarlierClaim() public {
        _fundBrands();
        _publishEpoch1();
        distributor.claim(alice, 100e18, _proof1(0));
        _publishEpoch2();

        vm.expectEmit(address(distributor));
        emit IRewardDistributor.Claimed(alice, 150e18, 250e18);
        uint256 paid = distributor.claim(alice, 250e18, _proof2(0));

        assertEq(paid, 150e18);
        assertEq(token.balanceOf(alice), 250e18);
        _assertUnclaimed(250e18);
    }

    function test_claim_PreviousRootStillClaimable() public {
        _fundBrands();
        _publishEpoch1();
        bytes32[] memory oldProof = _proof1(0);
        _publishEpoch2();

        // A claim built against epoch 1 lands right after epoch 2 is published.
        uint256 paid = distributor.claim(alice, 100e18, oldProof);
        assertEq(paid, 100e18);

        // ...and the rest is paid by the current root.
        paid = distributor.claim(alice, 250e18, _proof2(0));
        assertEq(paid, 150e18);
        assertEq(token.balanceOf(alice), 250e18);
    }

    function test_RevertWhen_ProofForRootTwoEpochsOld() public {
        _fundBrands();
        _publishEpoch1();
        _publishEpoch2();
        (address[] memory accounts, uint256[] memory amounts) = _epoch2();
        _publish(MerkleBuilder.root(accounts, amounts), _addresses(brandA), _amounts(0));

        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InvalidProof.selector, alice, 100e18));
        distributor.claim(alice, 100e18, _proof1(0));
    }

    function test_RevertWhen_ProofInvalid() public {
        _fundBrands();
        _publishEpoch1();

        // bob's proof does not prove alice's leaf.
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InvalidProof.selector, alice, 100e18));
        distributor.claim(alice, 100e18, _proof1(1));
    }

    function test_RevertWhen_ClaimedAmountInflated() public {
        _fundBrands();
        _publishEpoch1();

        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InvalidProof.selector, alice, 101e18));
        distributor.claim(alice, 101e18, _proof1(0));
    }

    function test_RevertWhen_ClaimBeforeAnyEpoch() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InvalidProof.selector, alice, 0));
        distributor.claim(alice, 0, new bytes32[](0));
    }

    function test_RevertWhen_NothingToClaim() public {
        _fundBrands();
        _publishEpoch1();
        distributor.claim(alice, 100e18, _proof1(0));

        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.NothingToClaim.selector, alice, 100e18, 100e18));
        distributor.claim(alice, 100e18, _proof1(0));
    }

    function test_RevertWhen_ClaimByOlderRootAfterNewerClaim() public {
        _fundBrands();
        _publishEpoch1();
        _publishEpoch2();
        distributor.claim(alice, 250e18, _proof2(0));

        // The previous root is still accepted but proves less than alice already has.
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.NothingToClaim.selector, alice, 100e18, 250e18));
        distributor.claim(alice, 100e18, _proof1(0));
    }

    function test_claim_FaultyRootStopsAtDistributorBalance() public {
        _fundBrands();
        // A faulty root: its leaves add up to 1200 while the epoch allocates only 1000.
        address[] memory accounts = _addresses(alice, bob);
        uint256[] memory amounts = _amounts(600e18, 600e18);
        (bytes32 root, bytes32[][] memory proofs) = MerkleBuilder.proofs(accounts, amounts);
        _publish(root, _addresses(brandA), _amounts(1_000e18));
        _assertVaultHoldsBudgets();

        distributor.claim(alice, 600e18, proofs[0]);
        _assertVaultHoldsBudgets();

        // The distributor holds 400, the rest of the allocation: bob's 600 cannot be paid.
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, address(distributor), 400e18, 600e18)
        );
        distributor.claim(bob, 600e18, proofs[1]);

        // Claims stop at the allocated total: brandB's unspent budget was not touched.
        assertEq(distributor.claimed(bob), 0);
        assertEq(token.balanceOf(bob), 0);
        _assertUnclaimed(600e18);
        assertEq(distributor.budgetOf(brandB), BUDGET);
        assertEq(token.balanceOf(distributor.vault()), BUDGET);
        _assertVaultHoldsBudgets();

        // Once a later epoch allocates the shortfall, the same leaf pays.
        _publish(root, _addresses(brandB), _amounts(200e18));
        distributor.claim(bob, 600e18, proofs[1]);
        _assertUnclaimed(1_200e18);
        assertEq(token.balanceOf(address(distributor)), 0);
        assertEq(distributor.budgetOf(brandB), BUDGET - 200e18);
        _assertVaultHoldsBudgets();
    }

    function test_claim_FaultyRootCannotTakeWithdrawableBudget() public {
        _fundBrands();
        // A faulty root gives alice 1,500 against an epoch total of 10.
        bytes32 root = MerkleBuilder.leaf(alice, 1_500e18);
        _publish(root, _addresses(brandA), _amounts(10e18));

        vm.expectRevert(
            abi.encodeWithSelector(
                IERC20Errors.ERC20InsufficientBalance.selector, address(distributor), 10e18, 1_500e18
            )
        );
        distributor.claim(alice, 1_500e18, new bytes32[](0));

        // Both brands can still take back every unit of their unspent budgets.
        vm.prank(brandA);
        distributor.withdraw(BUDGET - 10e18, brandA);
        vm.prank(brandB);
        distributor.withdraw(BUDGET, brandB);
        assertEq(token.balanceOf(brandA), MINTED - 10e18);
        assertEq(token.balanceOf(brandB), MINTED);
        assertEq(token.balanceOf(distributor.vault()), 0);
    }

    function test_claim_WorksWhilePaused() public {
        _fundBrands();
        _publishEpoch1();
        vm.prank(pauser);
        distributor.pause();

        uint256 paid = distributor.claim(alice, 100e18, _proof1(0));

        assertEq(paid, 100e18);
        assertEq(token.balanceOf(alice), 100e18);
        assertTrue(distributor.paused());
    }

    // ----------------------------------------------------------------------------------------
    // claimMany
    // ----------------------------------------------------------------------------------------

    function test_claimMany_PaysEveryAccount() public {
        _fundBrands();
        _publishEpoch1();
        (address[] memory accounts, uint256[] memory amounts) = _epoch1();
        (, bytes32[][] memory proofs) = MerkleBuilder.proofs(accounts, amounts);

        vm.expectEmit(address(distributor));
        emit IRewardDistributor.Claimed(alice, 100e18, 100e18);
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.Claimed(bob, 50e18, 50e18);
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.Claimed(carol, 30e18, 30e18);
        vm.prank(relayer);
        uint256 total = distributor.claimMany(accounts, amounts, proofs);

        assertEq(total, 180e18);
        assertEq(token.balanceOf(alice), 100e18);
        assertEq(token.balanceOf(bob), 50e18);
        assertEq(token.balanceOf(carol), 30e18);
        // Everything allocated was claimed.
        assertEq(token.balanceOf(address(distributor)), 0);
    }

    function test_claimMany_SkipsAlreadyClaimedAccount() public {
        _fundBrands();
        _publishEpoch1();
        (address[] memory accounts, uint256[] memory amounts) = _epoch1();
        (, bytes32[][] memory proofs) = MerkleBuilder.proofs(accounts, amounts);
        distributor.claim(alice, 100e18, proofs[0]);

        vm.recordLogs();
        uint256 total = distributor.claimMany(accounts, amounts, proofs);

        assertEq(total, 80e18);
        assertEq(_countClaimedEvents(vm.getRecordedLogs()), 2);
        assertEq(token.balanceOf(alice), 100e18);
        assertEq(token.balanceOf(bob), 50e18);
        assertEq(token.balanceOf(carol), 30e18);
        _assertUnclaimed(180e18);
    }

    function test_claimMany_MixesRootsAndPaysIncreases() public {
        _fundBrands();
        _publishEpoch1();
        distributor.claim(alice, 100e18, _proof1(0));
        _publishEpoch2();

        // alice by the current root (pays 150), bob by the previous one (pays 50), carol by the
        // previous one (pays 30 of her 80).
        uint256 total = distributor.claimMany(
            _addresses(alice, bob, carol), _amounts(250e18, 50e18, 30e18), _proofs(_proof2(0), _proof1(1), _proof1(2))
        );

        assertEq(total, 230e18);
        assertEq(distributor.claimed(carol), 30e18);
        _assertUnclaimed(330e18);
    }

    function test_claimMany_ResentBatchPaysNothing() public {
        _fundBrands();
        _publishEpoch1();
        (address[] memory accounts, uint256[] memory amounts) = _epoch1();
        (, bytes32[][] memory proofs) = MerkleBuilder.proofs(accounts, amounts);
        distributor.claimMany(accounts, amounts, proofs);

        vm.recordLogs();
        uint256 total = distributor.claimMany(accounts, amounts, proofs);

        assertEq(total, 0);
        assertEq(_countClaimedEvents(vm.getRecordedLogs()), 0);
        _assertUnclaimed(180e18);
    }

    function test_claimMany_EmptyBatchPaysNothing() public {
        uint256 total = distributor.claimMany(new address[](0), new uint256[](0), new bytes32[][](0));

        assertEq(total, 0);
    }

    function test_RevertWhen_ClaimManyAmountsLengthMismatch() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.LengthMismatch.selector, 2, 1));
        distributor.claimMany(_addresses(alice, bob), _amounts(1), new bytes32[][](2));
    }

    function test_RevertWhen_ClaimManyProofsLengthMismatch() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.LengthMismatch.selector, 2, 1));
        distributor.claimMany(_addresses(alice, bob), _amounts(1, 2), new bytes32[][](1));
    }

    function test_RevertWhen_ClaimManyContainsInvalidProof() public {
        _fundBrands();
        _publishEpoch1();

        // One bad entry reverts the whole batch: bob's valid leaf is not paid either.
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InvalidProof.selector, carol, 31e18));
        distributor.claimMany(_addresses(bob, carol), _amounts(50e18, 31e18), _proofs(_proof1(1), _proof1(2)));
    }

    function test_RevertWhen_ClaimManyExceedsDistributorBalance() public {
        _fundBrands();
        address[] memory accounts = _addresses(alice, bob);
        uint256[] memory amounts = _amounts(600e18, 600e18);
        (bytes32 root, bytes32[][] memory proofs) = MerkleBuilder.proofs(accounts, amounts);
        _publish(root, _addresses(brandA), _amounts(1_000e18));

        // alice is paid 600 first; bob's 600 then meets the 400 left, and the whole batch reverts.
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, address(distributor), 400e18, 600e18)
        );
        distributor.claimMany(accounts, amounts, proofs);

        assertEq(distributor.claimed(alice), 0);
        _assertUnclaimed(0);
        assertEq(distributor.budgetOf(brandB), BUDGET);
        _assertVaultHoldsBudgets();
    }

    function test_claimMany_WorksWhilePaused() public {
        _fundBrands();
        _publishEpoch1();
        (address[] memory accounts, uint256[] memory amounts) = _epoch1();
        (, bytes32[][] memory proofs) = MerkleBuilder.proofs(accounts, amounts);
        vm.prank(pauser);
        distributor.pause();

        vm.prank(relayer);
        uint256 total = distributor.claimMany(accounts, amounts, proofs);

        assertEq(total, 180e18);
        assertEq(token.balanceOf(carol), 30e18);
    }

    // ----------------------------------------------------------------------------------------
    // pause / unpause
    // ----------------------------------------------------------------------------------------

    function test_pause_SetsPausedAndEmits() public {
        vm.expectEmit(address(distributor));
        emit Pausable.Paused(pauser);
        vm.prank(pauser);
        distributor.pause();

        assertTrue(distributor.paused());
    }

    function test_unpause_ResumesPublicationAndDeposits() public {
        vm.prank(pauser);
        distributor.pause();

        vm.expectEmit(address(distributor));
        emit Pausable.Unpaused(pauser);
        vm.prank(pauser);
        distributor.unpause();

        assertFalse(distributor.paused());
        _fundBrands();
        _publishEpoch1();
        assertEq(distributor.currentEpoch(), 1);
        assertEq(distributor.budgetOf(brandA), BUDGET - 180e18);
    }

    function test_RevertWhen_PauseWithoutPauserRole() public {
        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, operator, distributor.PAUSER_ROLE()
            )
        );
        vm.prank(operator);
        distributor.pause();
    }

    function test_RevertWhen_UnpauseWithoutPauserRole() public {
        vm.prank(pauser);
        distributor.pause();

        vm.expectRevert(
            abi.encodeWithSelector(
                IAccessControl.AccessControlUnauthorizedAccount.selector, stranger, distributor.PAUSER_ROLE()
            )
        );
        vm.prank(stranger);
        distributor.unpause();
    }

    function test_RevertWhen_PauseWhilePaused() public {
        vm.startPrank(pauser);
        distributor.pause();

        vm.expectRevert(Pausable.EnforcedPause.selector);
        distributor.pause();
        vm.stopPrank();
    }

    function test_RevertWhen_UnpauseWhileNotPaused() public {
        vm.expectRevert(Pausable.ExpectedPause.selector);
        vm.prank(pauser);
        distributor.unpause();
    }

    // ----------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------

    function test_token_ReturnsCashToken() public view {
        assertEq(distributor.token(), address(token));
    }

    function test_currentRoot_IsLatestPublished() public {
        _fundBrands();
        bytes32 root1 = _publishEpoch1();
        assertEq(distributor.currentRoot(), root1);

        bytes32 root2 = _publishEpoch2();
        assertEq(distributor.currentRoot(), root2);
    }

    function test_previousRoot_IsRootBeforeLatest() public {
        _fundBrands();
        bytes32 root1 = _publishEpoch1();
        assertEq(distributor.previousRoot(), bytes32(0));

        _publishEpoch2();
        assertEq(distributor.previousRoot(), root1);
    }

    function test_currentEpoch_CountsPublications() public {
        for (uint64 epoch = 1; epoch <= 5; ++epoch) {
            _publish(keccak256(abi.encode(epoch)), new uint256[](0));
            assertEq(distributor.currentEpoch(), epoch);
        }
    }

    function test_claimed_AccumulatesAcrossClaims() public {
        _fundBrands();
        _publishEpoch1();
        assertEq(distributor.claimed(alice), 0);

        distributor.claim(alice, 100e18, _proof1(0));
        assertEq(distributor.claimed(alice), 100e18);

        _publishEpoch2();
        distributor.claim(alice, 250e18, _proof2(0));
        assertEq(distributor.claimed(alice), 250e18);
        assertEq(distributor.claimed(bob), 0);
    }

    function test_budgetOf_TracksDepositsPublicationsAndWithdrawals() public {
        assertEq(distributor.budgetOf(brandA), 0);
        _fundBrands();
        assertEq(distributor.budgetOf(brandA), BUDGET);

        _publishEpoch1();
        assertEq(distributor.budgetOf(brandA), BUDGET - 180e18);

        vm.prank(brandA);
        distributor.withdraw(20e18, brandA);
        assertEq(distributor.budgetOf(brandA), BUDGET - 200e18);
        assertEq(distributor.budgetOf(brandB), BUDGET);
    }

    function test_totalAllocated_SumsEpochTotals() public {
        _fundBrands();
        _publishEpoch1();
        assertEq(distributor.totalAllocated(), 180e18);

        _publishEpoch2();
        assertEq(distributor.totalAllocated(), 380e18);
    }

    function test_vault_HoldsUnspentBudgets() public {
        _fundBrands();
        assertEq(token.balanceOf(distributor.vault()), 2 * BUDGET);

        _publishEpoch1();
        vm.prank(brandB);
        distributor.withdraw(30e18, brandB);

        assertEq(token.balanceOf(distributor.vault()), 2 * BUDGET - 180e18 - 30e18);
        _assertVaultHoldsBudgets();
    }

    function test_totalAllocated_MinusClaimsIsDistributorBalance() public {
        _fundBrands();
        _publishEpoch1();
        distributor.claim(alice, 100e18, _proof1(0));
        distributor.claim(bob, 50e18, _proof1(1));
        _assertUnclaimed(150e18);

        _publishEpoch2();
        distributor.claim(carol, 80e18, _proof2(2));
        _assertUnclaimed(230e18);
        assertEq(token.balanceOf(address(distributor)), 380e18 - 230e18);
        _assertVaultHoldsBudgets();
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ICashbackToken} from "../src/interfaces/ICashbackToken.sol";
import {IConsentRegistry} from "../src/interfaces/IConsentRegistry.sol";
import {IRewardDistributor} from "../src/interfaces/IRewardDistributor.sol";
import {Deployment} from "./utils/Deployment.sol";
import {MerkleBuilder} from "./utils/MerkleBuilder.sol";

contract StrayToken is ERC20 {
    constructor() ERC20("Stray", "STR") {
        _mint(msg.sender, 1e18);
    }
}

/// @notice Budgets, funding, the optimistic epochs and claims of RewardDistributor (issue 10 items
/// 2, 6, 7).
contract RewardDistributorTest is Deployment {
    uint256 internal constant BUDGET = 1_000_000;
    uint8 internal constant MARKETING = 1;

    address internal brand = makeAddr("brand");
    address internal otherBrand = makeAddr("otherBrand");
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal mallory = makeAddr("mallory");

    function setUp() public {
        vm.warp(1_750_000_000);
        _deploy();
        _onboard(brand, BUDGET, 1000);
        _onboard(otherBrand, BUDGET, 1000);
    }

    /// @dev A two-leaf tree paying alice `a` and bob `b` (cumulative), its root and both proofs.
    function _tree(uint256 a, uint256 b) internal pure returns (bytes32 root, bytes32[][] memory proofs) {
        address[] memory accounts = new address[](2);
        uint256[] memory amounts = new uint256[](2);
        (accounts[0], accounts[1]) = (address(0xA11CE), address(0xB0B));
        (amounts[0], amounts[1]) = (a, b);
        return MerkleBuilder.proofs(accounts, amounts, MerkleBuilder.saltsFor(2, "salt"));
    }

    function _salt(uint256 i) internal pure returns (bytes32) {
        return MerkleBuilder.saltsFor(2, "salt")[i];
    }

    function _unauthorized(address account, bytes32 role) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, account, role);
    }

    // ---- deployment and roles (item 6) ----

    function test_constructor_EachRoleOnItsOwnKey() public view {
        assertEq(distributor.owner(), admin);
        assertTrue(distributor.hasRole(distributor.OPERATOR_ROLE(), operator));
        assertTrue(distributor.hasRole(distributor.FUNDER_ROLE(), funder));
        assertTrue(distributor.hasRole(distributor.AUDITOR_ROLE(), auditor));
        assertTrue(distributor.hasRole(distributor.PAUSER_ROLE(), pauser));
        assertFalse(distributor.hasRole(distributor.OPERATOR_ROLE(), admin));
        assertFalse(distributor.hasRole(distributor.FUNDER_ROLE(), operator));
        assertFalse(distributor.hasRole(distributor.AUDITOR_ROLE(), operator));
        assertEq(registry.owner(), admin);
        assertTrue(registry.hasRole(registry.RECORDER_ROLE(), recorder));
        assertFalse(registry.hasRole(registry.RECORDER_ROLE(), operator));
        assertEq(cash.distributor(), address(distributor));
        assertEq(cash.vault(), vaultAddr);
        assertEq(distributor.registry(), address(registry));
        assertEq(registry.distributor(), address(distributor));
        assertEq(distributor.challengeWindow(), WINDOW);
    }

    function test_RevertWhen_bindDistributor_Twice() public {
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.InvalidDistributor.selector, address(distributor)));
        vm.prank(admin);
        registry.bindDistributor(address(distributor));
    }

    function test_RevertWhen_publishEpoch_CallerIsTheAdmin() public {
        vm.expectRevert(_unauthorized(admin, distributor.OPERATOR_ROLE()));
        vm.prank(admin);
        distributor.publishEpoch(1, keccak256("r"), bytes32(0), _noDebits(), new IRewardDistributor.Credit[](0), 0);
    }

    // ---- funding: CASH exists only as funded budget (item 6) ----

    function test_RevertWhen_mint_CallerIsNotTheDistributor() public {
        vm.expectRevert(abi.encodeWithSelector(ICashbackToken.NotDistributor.selector, operator));
        vm.prank(operator);
        cash.mint(operator, 1);
    }

    function test_RevertWhen_fund_CallerIsTheOperator() public {
        vm.expectRevert(_unauthorized(operator, distributor.FUNDER_ROLE()));
        vm.prank(operator);
        distributor.fund(brand, 1, bytes32(0));
    }

    function test_fund_SupplyEqualsFunded() public {
        _fund(brand, 5);
        assertEq(cash.totalSupply(), distributor.totalFunded());
        assertEq(cash.totalSupply(), 2 * BUDGET + 5);
        assertEq(cash.balanceOf(vaultAddr), 2 * BUDGET + 5);
        assertEq(distributor.budgetOf(brand), BUDGET + 5);
    }

    // ---- item 7: deposits for brands only, no stuck CASH, retired budgets returned ----

    function test_RevertWhen_fund_ForANonBrand() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.NotARegisteredBrand.selector, alice));
        vm.prank(funder);
        distributor.fund(alice, 1, bytes32(0));
    }

    function test_RevertWhen_deposit_ForANonBrand() public {
        vm.prank(brand);
        distributor.withdraw(10, brand);
        vm.startPrank(brand);
        cash.approve(address(distributor), 10);
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.NotARegisteredBrand.selector, alice));
        distributor.deposit(alice, 10);
        distributor.deposit(otherBrand, 10); // a registered brand is fine
        vm.stopPrank();
        assertEq(distributor.budgetOf(otherBrand), BUDGET + 10);
    }

    function test_RevertWhen_transfer_CashSentToTheDistributorOrVaultByMistake() public {
        vm.prank(brand);
        distributor.withdraw(10, brand);
        vm.startPrank(brand);
        vm.expectRevert(abi.encodeWithSelector(ICashbackToken.TransferToProtocol.selector, address(distributor)));
        cash.transfer(address(distributor), 1);
        vm.expectRevert(abi.encodeWithSelector(ICashbackToken.TransferToProtocol.selector, vaultAddr));
        cash.transfer(vaultAddr, 1);
        vm.stopPrank();
    }

    function test_sweep_StrayTokenFromDistributorAndVault() public {
        StrayToken stray = new StrayToken();
        stray.transfer(address(distributor), 3);
        stray.transfer(vaultAddr, 4);
        vm.prank(admin);
        distributor.sweep(address(stray), alice);
        assertEq(stray.balanceOf(alice), 7);
    }

    function test_RevertWhen_sweep_Cash() public {
        vm.expectRevert(IRewardDistributor.CannotSweepCash.selector);
        vm.prank(admin);
        distributor.sweep(address(cash), alice);
    }

    function test_deregisterBrand_ReturnsTheUnreservedBudget() public {
        _reserve(brand, 300);
        vm.prank(operator);
        registry.deregisterBrand(brand);
        assertEq(cash.balanceOf(brand), BUDGET - 300);
        assertEq(distributor.budgetOf(brand), 300);
        // The reserve still settles; once released, the rest goes back too.
        vm.prank(operator);
        distributor.releaseReserve(brand, 300);
        assertEq(distributor.refundRetired(brand), 300);
        assertEq(cash.balanceOf(brand), BUDGET);
    }

    function test_RevertWhen_refundRetired_BrandIsActive() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.NotRetired.selector, brand));
        distributor.refundRetired(brand);
    }

    // ---- item 7: debits cannot wrap ----

    function test_RevertWhen_publishEpoch_DebitAmountOf2To96() public {
        // Hand-encoded call with fromReserve = 2^96: refused instead of wrapping into another field.
        bytes memory data = abi.encodeWithSelector(
            IRewardDistributor.publishEpoch.selector,
            uint64(1),
            keccak256("r"),
            bytes32(0),
            uint256(0xc0), // debits
            uint256(0x140), // expiryReturns (empty), after the one debit
            uint256(0), // claimsSnapshot
            uint256(1),
            uint256(uint160(brand)),
            uint256(1) << 96,
            uint256(0),
            uint256(0)
        );
        vm.prank(operator);
        (bool ok, bytes memory err) = address(distributor).call(data);
        assertFalse(ok);
        assertEq(err, abi.encodeWithSelector(IRewardDistributor.DebitOutOfRange.selector, 0));
        assertEq(distributor.latestEpoch(), 0);
    }

    function test_RevertWhen_publishEpoch_DebitBrandAbove160Bits() public {
        bytes memory data = abi.encodeWithSelector(
            IRewardDistributor.publishEpoch.selector,
            uint64(1),
            keccak256("r"),
            bytes32(0),
            uint256(0xc0), // debits
            uint256(0x140), // expiryReturns (empty), after the one debit
            uint256(0), // claimsSnapshot
            uint256(1),
            uint256(uint160(brand)) | (uint256(1) << 200),
            uint256(0),
            uint256(1),
            uint256(0)
        );
        vm.prank(operator);
        (bool ok, bytes memory err) = address(distributor).call(data);
        assertFalse(ok);
        assertEq(err, abi.encodeWithSelector(IRewardDistributor.DebitOutOfRange.selector, 0));
    }

    function testFuzz_publishEpoch_DebitsSettleExactlyWhatTheySay(uint96 fromReserve, uint96 fromBudget) public {
        fromReserve = uint96(bound(fromReserve, 0, BUDGET / 2));
        fromBudget = uint96(bound(fromBudget, 0, BUDGET / 2));
        _reserve(brand, fromReserve);
        _publishAndFinalize(keccak256("r"), _debit(brand, fromReserve, fromBudget));
        assertEq(distributor.budgetOf(brand), BUDGET - fromReserve - fromBudget);
        assertEq(distributor.reservedOf(brand), 0);
        assertEq(distributor.budgetOf(otherBrand), BUDGET, "no other brand touched");
        assertEq(cash.balanceOf(address(distributor)), uint256(fromReserve) + fromBudget);
    }

    function test_RevertWhen_publishEpoch_DebitBeyondTheReserve() public {
        _reserve(brand, 10);
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InsufficientReserve.selector, brand, 10, 11));
        vm.prank(operator);
        distributor.publishEpoch(
            1, keccak256("r"), bytes32(0), _debit(brand, 11, 0), new IRewardDistributor.Credit[](0), 0
        );
    }

    function test_RevertWhen_publishEpoch_FromBudgetReachesIntoTheReserve() public {
        _reserve(brand, 10);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.InsufficientBudget.selector, brand, BUDGET - 10, BUDGET)
        );
        vm.prank(operator);
        distributor.publishEpoch(
            1, keccak256("r"), bytes32(0), _debit(brand, 0, uint96(BUDGET)), new IRewardDistributor.Credit[](0), 0
        );
    }

    function _reserve(address b, uint256 amount) internal {
        vm.prank(address(registry));
        distributor.reserve(b, amount);
    }

    // ---- item 6: optimistic roots ----

    function test_publishEpoch_RootIsNotClaimableInsideTheWindow() public {
        (bytes32 root, bytes32[][] memory proofs) = _tree(100, 200);
        _publish(root, _debit(brand, 0, 300));
        assertEq(distributor.claimableRoot(), bytes32(0));
        IRewardDistributor.PendingEpoch memory p = distributor.pendingEpoch();
        assertEq(p.epoch, 1);
        assertEq(p.root, root);
        assertEq(p.total, 300);
        assertEq(p.finalisesAt, block.timestamp + WINDOW);
        assertEq(cash.balanceOf(address(distributor)), 0, "the pending total stays in the vault");
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InvalidProof.selector, address(0xA11CE), 100));
        distributor.claim(address(0xA11CE), 100, _salt(0), proofs[0]);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.ChallengeWindowOpen.selector, 1, uint40(block.timestamp + WINDOW))
        );
        distributor.finalizeEpoch();
    }

    function test_finalizeEpoch_GoodRootPaidAfterTheWindow() public {
        (bytes32 root, bytes32[][] memory proofs) = _tree(100, 200);
        _publishAndFinalize(root, _debit(brand, 0, 300));
        assertEq(distributor.claimableRoot(), root);
        assertEq(distributor.claimableEpoch(), 1);
        assertEq(distributor.totalAllocated(), 300);
        assertEq(distributor.claim(address(0xA11CE), 100, _salt(0), proofs[0]), 100);
        assertEq(cash.balanceOf(address(0xA11CE)), 100);
    }

    function test_vetoEpoch_BadRootVetoedBudgetsAndReservesRestored() public {
        _reserve(brand, 40);
        (bytes32 root,) = _tree(1_000_000, 1);
        IRewardDistributor.Debit[] memory debits = _debit(brand, 40, 60);
        _publish(root, debits);
        assertEq(distributor.reservedOf(brand), 0);
        vm.warp(block.timestamp + WINDOW - 1);
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.EpochVetoed(1, root, auditor);
        vm.prank(auditor);
        distributor.vetoEpoch(1, debits);
        assertEq(distributor.budgetOf(brand), BUDGET);
        assertEq(distributor.reservedOf(brand), 40);
        assertEq(distributor.latestEpoch(), 0);
        assertEq(distributor.pendingEpoch().epoch, 0);
        // The operator republishes the same epoch number, now correct.
        (bytes32 good, bytes32[][] memory proofs) = _tree(60, 40);
        _publishAndFinalize(good, debits);
        assertEq(distributor.claimableEpoch(), 1);
        distributor.claim(address(0xB0B), 40, _salt(1), proofs[1]);
    }

    function test_RevertWhen_vetoEpoch_AfterTheWindow() public {
        IRewardDistributor.Debit[] memory debits = _debit(brand, 0, 1);
        _publish(keccak256("r"), debits);
        vm.warp(block.timestamp + WINDOW);
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.ChallengeWindowOver.selector, 1, uint40(block.timestamp))
        );
        vm.prank(auditor);
        distributor.vetoEpoch(1, debits);
    }

    function test_RevertWhen_vetoEpoch_CallerIsTheOperator() public {
        _publish(keccak256("r"), _noDebits());
        vm.expectRevert(_unauthorized(operator, distributor.AUDITOR_ROLE()));
        vm.prank(operator);
        distributor.vetoEpoch(1, _noDebits());
    }

    function test_RevertWhen_vetoEpoch_DebitsAreNotThePublishedOnes() public {
        _publish(keccak256("r"), _debit(brand, 0, 5));
        vm.expectRevert();
        vm.prank(auditor);
        distributor.vetoEpoch(1, _debit(brand, 0, 500));
    }

    function test_RevertWhen_publishEpoch_WhileAnEpochIsInItsWindow() public {
        _publish(keccak256("r1"), _noDebits());
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.EpochPending.selector, 1, uint40(block.timestamp + WINDOW))
        );
        vm.prank(operator);
        distributor.publishEpoch(2, keccak256("r2"), bytes32(0), _noDebits(), new IRewardDistributor.Credit[](0), 0);
    }

    function test_publishEpoch_FinalisesTheEndedPendingEpochFirst() public {
        _publish(keccak256("r1"), _debit(brand, 0, 7));
        vm.warp(block.timestamp + WINDOW);
        _publish(keccak256("r2"), _noDebits());
        assertEq(distributor.claimableRoot(), keccak256("r1"));
        assertEq(distributor.claimableEpoch(), 1);
        assertEq(distributor.latestEpoch(), 2);
        assertEq(cash.balanceOf(address(distributor)), 7);
    }

    function test_claim_OnlyTheNewestFinalisedRootPays() public {
        (bytes32 r1, bytes32[][] memory p1) = _tree(100, 200);
        _publishAndFinalize(r1, _debit(brand, 0, 300));
        (bytes32 r2,) = _tree(50, 450); // a lowered cumulative for alice
        _publishAndFinalize(r2, _debit(brand, 0, 200));
        // The old root (alice at 100) no longer pays: no previous-root bypass.
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InvalidProof.selector, address(0xA11CE), 100));
        distributor.claim(address(0xA11CE), 100, _salt(0), p1[0]);
    }

    function test_claim_BadRootCannotReachThePendingEpochsMoney() public {
        // Epoch 1 allocates 300; epoch 2 (pending) moves 600 more out of budgets. A root paying
        // mallory 900 under epoch 1 could only be paid from epoch 2's money: it is not there.
        address[] memory accounts = new address[](1);
        uint256[] memory amounts = new uint256[](1);
        (accounts[0], amounts[0]) = (mallory, 900);
        bytes32[] memory salts = MerkleBuilder.saltsFor(1, "m");
        (bytes32 bad, bytes32[] memory proof) = MerkleBuilder.build(accounts, amounts, salts, 0);
        _publishAndFinalize(bad, _debit(brand, 0, 300));
        _publish(keccak256("epoch2"), _debit(brand, 0, 600));
        vm.expectRevert();
        distributor.claim(mallory, 900, salts[0], proof);
        assertEq(cash.balanceOf(address(distributor)), 300);
    }

    function test_RevertWhen_claim_Paused() public {
        (bytes32 root, bytes32[][] memory proofs) = _tree(100, 200);
        _publishAndFinalize(root, _debit(brand, 0, 300));
        vm.prank(pauser);
        distributor.pause();
        assertEq(distributor.claimableRoot(), root);
        vm.expectRevert(Pausable.EnforcedPause.selector);
        distributor.claim(address(0xA11CE), 100, _salt(0), proofs[0]);
        vm.prank(pauser);
        distributor.unpause();
        distributor.claim(address(0xA11CE), 100, _salt(0), proofs[0]);
    }

    function test_vetoEpoch_WorksWhilePaused() public {
        _publish(keccak256("r"), _noDebits());
        vm.prank(pauser);
        distributor.pause();
        vm.prank(auditor);
        distributor.vetoEpoch(1, _noDebits());
        assertEq(distributor.latestEpoch(), 0);
    }

    function test_claimMany_SkipsTheZeroAddress() public {
        address[] memory accounts = new address[](2);
        uint256[] memory amounts = new uint256[](2);
        (accounts[0], accounts[1]) = (address(0), alice);
        (amounts[0], amounts[1]) = (5, 10);
        bytes32[] memory salts = MerkleBuilder.saltsFor(2, "z");
        (bytes32 root, bytes32[][] memory proofs) = MerkleBuilder.proofs(accounts, amounts, salts);
        _publishAndFinalize(root, _debit(brand, 0, 15));
        assertEq(distributor.claimMany(accounts, amounts, salts, proofs), 10);
        assertEq(cash.balanceOf(alice), 10);
        // Resending the same batch pays nothing and does not revert.
        assertEq(distributor.claimMany(accounts, amounts, salts, proofs), 0);
    }

    function test_RevertWhen_claim_WrongSalt() public {
        (bytes32 root, bytes32[][] memory proofs) = _tree(100, 200);
        _publishAndFinalize(root, _debit(brand, 0, 300));
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InvalidProof.selector, address(0xA11CE), 100));
        distributor.claim(address(0xA11CE), 100, bytes32(0), proofs[0]);
    }

    function test_RevertWhen_claim_NothingLeft() public {
        (bytes32 root, bytes32[][] memory proofs) = _tree(100, 200);
        _publishAndFinalize(root, _debit(brand, 0, 300));
        distributor.claim(address(0xA11CE), 100, _salt(0), proofs[0]);
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.NothingToClaim.selector, address(0xA11CE), 100, 100));
        distributor.claim(address(0xA11CE), 100, _salt(0), proofs[0]);
    }

    // ---- the Merkle format equals OpenZeppelin's StandardMerkleTree ----

    function test_merkleBuilder_MatchesOpenZeppelinStandardMerkleTree() public pure {
        // Root and proof of leaf 2 computed by @openzeppelin/merkle-tree 1.0.8:
        // StandardMerkleTree.of([[0x..b000+i, 1000*(i+1), bytes32(i+1)] for i < 5],
        // ["address", "uint256", "bytes32"]).
        address[] memory accounts = new address[](5);
        uint256[] memory amounts = new uint256[](5);
        bytes32[] memory salts = new bytes32[](5);
        for (uint256 i; i < 5; ++i) {
            accounts[i] = address(uint160(0xB000 + i));
            amounts[i] = 1000 * (i + 1);
            salts[i] = bytes32(i + 1);
        }
        (bytes32 root, bytes32[] memory proof) = MerkleBuilder.build(accounts, amounts, salts, 2);
        assertEq(root, 0x1da34f71f2e79dfb9ca2a8efa62be9231d229a34eae80987dfc290b6ee0196fe);
        assertEq(proof.length, 2);
        assertEq(proof[0], 0xa8ed26bbe3a82e10c8a8f2fd41d9ab3d94d63e72c880b7af7945c288ac55ee87);
        assertEq(proof[1], 0x8437020b8d5093643e2384fee40fad81c06da5e990a458a3ebc90cb56678cdcc);
    }

    // ---- ordering, roles, pausing ----

    function test_RevertWhen_publishEpoch_OutOfOrder() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.EpochOutOfOrder.selector, 1, 2));
        vm.prank(operator);
        distributor.publishEpoch(2, keccak256("r"), bytes32(0), _noDebits(), new IRewardDistributor.Credit[](0), 0);
    }

    function test_RevertWhen_publishEpoch_PublishedTwice() public {
        _publishAndFinalize(keccak256("r"), _noDebits());
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.EpochOutOfOrder.selector, 2, 1));
        vm.prank(operator);
        distributor.publishEpoch(1, keccak256("r"), bytes32(0), _noDebits(), new IRewardDistributor.Credit[](0), 0);
    }

    function test_RevertWhen_publishEpoch_RootIsZero() public {
        vm.expectRevert(IRewardDistributor.ZeroRoot.selector);
        vm.prank(operator);
        distributor.publishEpoch(1, bytes32(0), bytes32(0), _noDebits(), new IRewardDistributor.Credit[](0), 0);
    }

    function test_RevertWhen_publishEpoch_Paused() public {
        vm.prank(pauser);
        distributor.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        vm.prank(operator);
        distributor.publishEpoch(1, keccak256("r"), bytes32(0), _noDebits(), new IRewardDistributor.Credit[](0), 0);
    }

    function test_RevertWhen_finalizeEpoch_NothingPending() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.NoPendingEpoch.selector, 0));
        distributor.finalizeEpoch();
    }

    function test_RevertWhen_withdraw_ToTheDistributorOrVault() public {
        vm.startPrank(brand);
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InvalidRecipient.selector, address(distributor)));
        distributor.withdraw(1, address(distributor));
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InvalidRecipient.selector, vaultAddr));
        distributor.withdraw(1, vaultAddr);
        vm.stopPrank();
    }

    function test_RevertWhen_withdraw_AnotherBrandsBudget() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InsufficientBudget.selector, alice, 0, 1));
        vm.prank(alice);
        distributor.withdraw(1, alice);
    }

    // ---- expiry returns (issue 14, item 4) ----

    function _returns(address to, uint96 amount) internal pure returns (IRewardDistributor.Credit[] memory c) {
        c = new IRewardDistributor.Credit[](1);
        c[0] = IRewardDistributor.Credit({brand: to, amount: amount});
    }

    function _publishWithReturns(bytes32 root, IRewardDistributor.Credit[] memory returns_, uint256 snapshot)
        internal
        returns (uint64 epoch)
    {
        epoch = distributor.latestEpoch() + 1;
        vm.prank(operator);
        distributor.publishEpoch(epoch, root, keccak256(abi.encode(epoch)), _noDebits(), returns_, snapshot);
    }

    function _publishWithReturnsReverts(
        bytes32 root,
        IRewardDistributor.Credit[] memory returns_,
        uint256 snapshot,
        bytes memory err
    ) internal {
        uint64 epoch = distributor.latestEpoch() + 1;
        vm.prank(operator);
        vm.expectRevert(err);
        distributor.publishEpoch(epoch, root, keccak256(abi.encode(epoch)), _noDebits(), returns_, snapshot);
    }

    /// @dev Bob earned 200 and claimed none; 150 expire: his leaf drops to 50, the brand gets 150
    /// back at finalisation, he can claim exactly 50, and every won is accounted for.
    function test_finalizeEpoch_ExpiryReturnedAndTheLowerLeafPaysTheRest() public {
        (bytes32 r1, bytes32[][] memory p1) = _tree(100, 200);
        _publishAndFinalize(r1, _debit(brand, 0, 300));
        // Alice claims 100 of it; bob's 200 sit unclaimed, 150 of them expire.
        distributor.claim(address(0xA11CE), 100, _salt(0), p1[0]);
        (bytes32 r2, bytes32[][] memory p2) = _tree(100, 50);
        uint256 budgetBefore = distributor.budgetOf(brand);
        uint64 epoch = _publishWithReturns(r2, _returns(brand, 150), 1);
        assertEq(distributor.pendingReturns().length, 1);
        // Held: bob cannot claim his 200 under the old root while the lower one is pending.
        IRewardDistributor.PendingEpoch memory p = distributor.pendingEpoch();
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.ClaimsHeldForExpiry.selector, epoch, p.finalisesAt));
        distributor.claim(address(0xB0B), 200, _salt(1), p1[1]);
        vm.warp(block.timestamp + WINDOW);
        vm.expectEmit(address(distributor));
        emit IRewardDistributor.ExpiryReturned(epoch, brand, 150);
        distributor.finalizeEpoch();
        assertEq(distributor.budgetOf(brand), budgetBefore + 150);
        assertEq(distributor.totalReturned(), 150);
        assertEq(distributor.pendingReturns().length, 0);
        assertEq(distributor.claim(address(0xB0B), 50, _salt(1), p2[1]), 50);
        assertEq(cash.balanceOf(address(distributor)), 0, "allocated = claimed + returned");
        assertEq(cash.balanceOf(vaultAddr), 2 * BUDGET - 300 + 150);
    }

    function test_RevertWhen_publishEpoch_ClaimsMovedSinceSnapshot() public {
        (bytes32 r1, bytes32[][] memory p1) = _tree(100, 200);
        _publishAndFinalize(r1, _debit(brand, 0, 300));
        distributor.claim(address(0xA11CE), 100, _salt(0), p1[0]); // after the cut-off saw 0 claims
        (bytes32 r2,) = _tree(100, 50);
        _publishWithReturnsReverts(
            r2,
            _returns(brand, 150),
            0,
            abi.encodeWithSelector(IRewardDistributor.ClaimsMovedSinceSnapshot.selector, 0, 1)
        );
    }

    function test_RevertWhen_publishEpoch_ReturnsExceedUnclaimed() public {
        (bytes32 r1,) = _tree(100, 200);
        _publishAndFinalize(r1, _debit(brand, 0, 300));
        (bytes32 r2,) = _tree(0, 0);
        _publishWithReturnsReverts(
            r2,
            _returns(brand, 301),
            0,
            abi.encodeWithSelector(IRewardDistributor.ReturnsExceedUnclaimed.selector, 300, 301)
        );
    }

    function test_RevertWhen_publishEpoch_ReturnToANonBrand() public {
        (bytes32 r1,) = _tree(100, 200);
        _publishAndFinalize(r1, _debit(brand, 0, 300));
        (bytes32 r2,) = _tree(0, 0);
        _publishWithReturnsReverts(
            r2,
            _returns(mallory, 1),
            0,
            abi.encodeWithSelector(IRewardDistributor.NotARegisteredBrand.selector, mallory)
        );
    }

    function test_RevertWhen_publishEpoch_ZeroReturn() public {
        (bytes32 r1,) = _tree(100, 200);
        _publishAndFinalize(r1, _debit(brand, 0, 300));
        (bytes32 r2,) = _tree(0, 0);
        _publishWithReturnsReverts(
            r2, _returns(brand, 0), 0, abi.encodeWithSelector(IRewardDistributor.ZeroAmount.selector)
        );
    }

    function test_vetoEpoch_DropsTheReturnsAndReleasesTheHeldClaims() public {
        (bytes32 r1, bytes32[][] memory p1) = _tree(100, 200);
        _publishAndFinalize(r1, _debit(brand, 0, 300));
        (bytes32 r2,) = _tree(100, 50);
        uint64 epoch = _publishWithReturns(r2, _returns(brand, 150), 0);
        vm.prank(auditor);
        distributor.vetoEpoch(epoch, _noDebits());
        assertEq(distributor.pendingReturns().length, 0);
        assertEq(distributor.claimableRoot(), r1);
        assertEq(distributor.claim(address(0xB0B), 200, _salt(1), p1[1]), 200);
        assertEq(distributor.totalReturned(), 0);
    }

    function test_vetoEpoch_WhilePausedRestoresTheParkedRoot() public {
        (bytes32 r1, bytes32[][] memory p1) = _tree(100, 200);
        _publishAndFinalize(r1, _debit(brand, 0, 300));
        (bytes32 r2,) = _tree(100, 50);
        uint64 epoch = _publishWithReturns(r2, _returns(brand, 150), 0);
        vm.prank(pauser);
        distributor.pause();
        vm.prank(auditor);
        distributor.vetoEpoch(epoch, _noDebits());
        vm.prank(pauser);
        distributor.unpause();
        assertEq(distributor.claim(address(0xB0B), 200, _salt(1), p1[1]), 200);
    }

    // ---- claims ----

    function test_claim_CoveringTwoEpochsPaysTheSum() public {
        (bytes32 r1,) = _tree(100, 200);
        _publishAndFinalize(r1, _debit(brand, 0, 300));
        (bytes32 r2, bytes32[][] memory p2) = _tree(150, 250);
        _publishAndFinalize(r2, _debit(brand, 0, 100));
        vm.prank(mallory); // anyone relays; the account is paid
        assertEq(distributor.claim(address(0xA11CE), 150, _salt(0), p2[0]), 150);
        assertEq(cash.balanceOf(address(0xA11CE)), 150);
        assertEq(cash.balanceOf(mallory), 0);
        assertEq(distributor.claimed(address(0xA11CE)), 150);
    }

    function test_claim_PaysOnlyTheIncreaseAfterAnEarlierClaim() public {
        (bytes32 r1, bytes32[][] memory p1) = _tree(100, 200);
        _publishAndFinalize(r1, _debit(brand, 0, 300));
        distributor.claim(address(0xA11CE), 100, _salt(0), p1[0]);
        (bytes32 r2, bytes32[][] memory p2) = _tree(130, 200);
        _publishAndFinalize(r2, _debit(brand, 0, 30));
        assertEq(distributor.claim(address(0xA11CE), 130, _salt(0), p2[0]), 30);
    }

    function test_RevertWhen_claimMany_LengthsDiffer() public {
        address[] memory accounts = new address[](2);
        uint256[] memory amounts = new uint256[](2);
        bytes32[] memory salts = new bytes32[](1);
        bytes32[][] memory proofs = new bytes32[][](2);
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.LengthMismatch.selector, 2, 1));
        distributor.claimMany(accounts, amounts, salts, proofs);
    }

    function test_RevertWhen_claimMany_ContainsAnInvalidProof() public {
        (bytes32 root, bytes32[][] memory proofs) = _tree(100, 200);
        _publishAndFinalize(root, _debit(brand, 0, 300));
        address[] memory accounts = new address[](2);
        uint256[] memory amounts = new uint256[](2);
        (accounts[0], accounts[1]) = (address(0xA11CE), address(0xB0B));
        (amounts[0], amounts[1]) = (100, 999);
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InvalidProof.selector, address(0xB0B), 999));
        distributor.claimMany(accounts, amounts, MerkleBuilder.saltsFor(2, "salt"), proofs);
    }

    function test_claim_FaultyFinalisedRootStopsAtTheDistributorsBalance() public {
        // A root the auditor missed promises alice more than the epoch debited: claims stop at
        // what finalised epochs allocated; budgets and the vault are out of reach.
        (bytes32 root, bytes32[][] memory proofs) = _tree(5000, 1);
        _publishAndFinalize(root, _debit(brand, 0, 300));
        vm.expectRevert();
        distributor.claim(address(0xA11CE), 5000, _salt(0), proofs[0]);
        assertEq(cash.balanceOf(vaultAddr), 2 * BUDGET - 300);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {CashbackToken} from "../src/CashbackToken.sol";
import {RewardDistributor} from "../src/RewardDistributor.sol";
import {IRewardDistributor} from "../src/interfaces/IRewardDistributor.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {Debits} from "./utils/Debits.sol";
import {MerkleBuilder} from "./utils/MerkleBuilder.sol";

/// Fuzz tests of claims against random Merkle trees, and of the MerkleBuilder format itself.
contract RewardDistributorClaimsTest is Test {
    bytes32 private constant COMMITMENT = keccak256("epoch records");
    uint256 private constant MAX_LEAVES = 64;
    // 64 leaves of at most 1e26 stay below a debit's 96-bit amount (about 7.9e28) in total.
    uint256 private constant MAX_AMOUNT = 1e26;
    uint256 private constant BUDGET = 1e36;
    // Root over (0x…01, 100), (0x…02, 200), (0x…03, 300), computed outside Solidity with `cast`.
    bytes32 private constant REFERENCE_ROOT = 0x8a85cf898ab62a50cffef6e365a3c0ddf4e6039d82c7d713d7a4a03e09a1288f;

    CashbackToken private token;
    RewardDistributor private distributor;
    address private admin = makeAddr("admin");
    address private brand = makeAddr("brand");
    address private relayer = makeAddr("relayer");

    function setUp() public {
        token = new CashbackToken(admin);
        distributor = new RewardDistributor(address(token), admin);
        vm.prank(admin);
        token.mint(brand, BUDGET);
        vm.startPrank(brand);
        token.approve(address(distributor), BUDGET);
        distributor.deposit(brand, BUDGET);
        vm.stopPrank();
    }

    // ----------------------------------------------------------------------------------------
    // Helpers
    // ----------------------------------------------------------------------------------------

    /// @dev `size` distinct pseudo-random accounts, each with a cumulative amount in [1, MAX_AMOUNT].
    function _randomTree(uint256 seed, uint256 size)
        private
        pure
        returns (address[] memory accounts, uint256[] memory amounts)
    {
        accounts = new address[](size);
        amounts = new uint256[](size);
        for (uint256 i; i < size; ++i) {
            accounts[i] = address(uint160(uint256(keccak256(abi.encode(seed, "account", i)))));
            amounts[i] = 1 + uint256(keccak256(abi.encode(seed, "amount", i))) % MAX_AMOUNT;
        }
    }

    function _sum(uint256[] memory amounts) private pure returns (uint256 total) {
        for (uint256 i; i < amounts.length; ++i) {
            total += amounts[i];
        }
    }

    /// @dev Publishes the next epoch with `root`, `payer`'s budget paying `total` into it.
    function _publish(bytes32 root, address payer, uint256 total) private {
        uint256[] memory debits = new uint256[](1);
        debits[0] = Debits.pack(payer, total);
        uint64 epoch = distributor.currentEpoch() + 1;
        vm.prank(admin);
        distributor.publishEpoch(epoch, root, COMMITMENT, debits);
    }

    /// @dev Publishes the next epoch with `root`, the brand paying `total` into it.
    function _publish(bytes32 root, uint256 total) private {
        _publish(root, brand, total);
    }

    /// @dev What claims have paid in all: the distributor holds exactly the rest of the allocation.
    function _paidOut() private view returns (uint256) {
        return distributor.totalAllocated() - token.balanceOf(address(distributor));
    }

    /// @dev A random tree of 1..MAX_LEAVES leaves (at least `minSize`), published with the exact
    /// total of its leaves; returns it with the chosen leaf's proof.
    function _publishRandomTree(uint256 seed, uint256 size, uint256 index, uint256 minSize)
        private
        returns (address[] memory accounts, uint256[] memory amounts, uint256 leaf, bytes32[] memory proof)
    {
        size = bound(size, minSize, MAX_LEAVES);
        leaf = bound(index, 0, size - 1);
        (accounts, amounts) = _randomTree(seed, size);
        bytes32 root;
        (root, proof) = MerkleBuilder.build(accounts, amounts, leaf);
        _publish(root, _sum(amounts));
    }

    function _expectInvalidProof(address account, uint256 amount) private {
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.InvalidProof.selector, account, amount));
    }

    // ----------------------------------------------------------------------------------------
    // Valid claims
    // ----------------------------------------------------------------------------------------

    function testFuzz_claim_PaysExactlyLeafAmount(
        uint256 seed,
        uint256 size,
        uint256 index,
        address account,
        uint256 amount
    ) public {
        size = bound(size, 1, MAX_LEAVES);
        index = bound(index, 0, size - 1);
        amount = bound(amount, 1, MAX_AMOUNT);
        // The fuzzed account may be anything that can receive tokens other than the distributor.
        if (account == address(0) || account == address(distributor)) account = address(0xC0FFEE);
        (address[] memory accounts, uint256[] memory amounts) = _randomTree(seed, size);
        (accounts[index], amounts[index]) = (account, amount);
        (bytes32 root, bytes32[] memory proof) = MerkleBuilder.build(accounts, amounts, index);
        _publish(root, _sum(amounts));
        uint256 balanceBefore = token.balanceOf(account);

        vm.expectEmit(address(distributor));
        emit IRewardDistributor.Claimed(account, amount, amount);
        vm.prank(relayer);
        uint256 paid = distributor.claim(account, amount, proof);

        assertEq(paid, amount);
        assertEq(token.balanceOf(account) - balanceBefore, amount);
        assertEq(distributor.claimed(account), amount);
        assertEq(_paidOut(), amount);
    }

    function testFuzz_claimMany_PaysEveryLeafExactlyOnce(uint256 seed, uint256 size) public {
        size = bound(size, 1, MAX_LEAVES);
        (address[] memory accounts, uint256[] memory amounts) = _randomTree(seed, size);
        (bytes32 root, bytes32[][] memory proofs) = MerkleBuilder.proofs(accounts, amounts);
        uint256 total = _sum(amounts);
        _publish(root, total);

        assertEq(distributor.claimMany(accounts, amounts, proofs), total);
        for (uint256 i; i < size; ++i) {
            assertEq(token.balanceOf(accounts[i]), amounts[i]);
        }
        assertEq(token.balanceOf(address(distributor)), 0);

        // Resending the batch pays nothing more.
        assertEq(distributor.claimMany(accounts, amounts, proofs), 0);
        assertEq(_paidOut(), total);
    }

    function testFuzz_claim_TwiceIsPaidOnce(uint256 seed, uint256 size, uint256 index) public {
        (address[] memory accounts, uint256[] memory amounts, uint256 leaf, bytes32[] memory proof) =
            _publishRandomTree(seed, size, index, 1);
        (address account, uint256 amount) = (accounts[leaf], amounts[leaf]);
        distributor.claim(account, amount, proof);

        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.NothingToClaim.selector, account, amount, amount));
        distributor.claim(account, amount, proof);

        // The batch path skips it instead of reverting, and still pays nothing.
        address[] memory batchAccounts = new address[](1);
        uint256[] memory batchAmounts = new uint256[](1);
        bytes32[][] memory batchProofs = new bytes32[][](1);
        (batchAccounts[0], batchAmounts[0], batchProofs[0]) = (account, amount, proof);
        assertEq(distributor.claimMany(batchAccounts, batchAmounts, batchProofs), 0);

        assertEq(token.balanceOf(account), amount);
        assertEq(_paidOut(), amount);
    }

    function testFuzz_claim_AcrossEpochsPaysSumOfIncreases(
        uint256 seed,
        uint256 size,
        uint256 index,
        uint256 increase,
        bool claimBetween
    ) public {
        size = bound(size, 1, MAX_LEAVES);
        index = bound(index, 0, size - 1);
        increase = bound(increase, 0, MAX_AMOUNT);
        (address[] memory accounts, uint256[] memory amounts) = _randomTree(seed, size);
        (bytes32 root1, bytes32[] memory proof1) = MerkleBuilder.build(accounts, amounts, index);
        _publish(root1, _sum(amounts));
        (address account, uint256 first) = (accounts[index], amounts[index]);
        if (claimBetween) distributor.claim(account, first, proof1);

        amounts[index] = first + increase;
        (bytes32 root2, bytes32[] memory proof2) = MerkleBuilder.build(accounts, amounts, index);
        _publish(root2, increase);

        if (claimBetween && increase == 0) {
            vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.NothingToClaim.selector, account, first, first));
            distributor.claim(account, first, proof2);
        } else {
            uint256 paid = distributor.claim(account, first + increase, proof2);
            assertEq(paid, claimBetween ? increase : first + increase);
        }
        assertEq(token.balanceOf(account), first + increase);
        assertEq(distributor.claimed(account), first + increase);
    }

    function testFuzz_claim_PreviousRootPaysItsAmount(uint256 seed, uint256 size, uint256 index, uint256 increase)
        public
    {
        size = bound(size, 1, MAX_LEAVES);
        index = bound(index, 0, size - 1);
        increase = bound(increase, 1, MAX_AMOUNT);
        (address[] memory accounts, uint256[] memory amounts) = _randomTree(seed, size);
        (bytes32 root1, bytes32[] memory proof1) = MerkleBuilder.build(accounts, amounts, index);
        _publish(root1, _sum(amounts));
        (address account, uint256 first) = (accounts[index], amounts[index]);
        amounts[index] = first + increase;
        _publish(MerkleBuilder.root(accounts, amounts), increase);

        assertEq(distributor.claim(account, first, proof1), first);
        assertEq(token.balanceOf(account), first);
    }

    // ----------------------------------------------------------------------------------------
    // Faulty roots
    // ----------------------------------------------------------------------------------------

    function testFuzz_claim_FaultyRootCannotReachUnspentBudgets(
        uint256 seed,
        uint256 size,
        uint256 shortfall,
        uint256 otherBudget
    ) public {
        size = bound(size, 1, MAX_LEAVES);
        otherBudget = bound(otherBudget, 1, BUDGET);
        address other = makeAddr("other brand");
        vm.prank(admin);
        token.mint(other, otherBudget);
        vm.startPrank(other);
        token.approve(address(distributor), otherBudget);
        distributor.deposit(other, otherBudget);
        vm.stopPrank();
        (address[] memory accounts, uint256[] memory amounts) = _randomTree(seed, size);
        (bytes32 root, bytes32[][] memory proofs) = MerkleBuilder.proofs(accounts, amounts);
        // The leaves add up to more than the epoch allocates.
        uint256 total = _sum(amounts);
        shortfall = bound(shortfall, 1, total);
        uint256 allocated = total - shortfall;
        _publish(root, allocated);
        address vault = distributor.vault();
        uint256 budgets = BUDGET - allocated + otherBudget;
        assertEq(token.balanceOf(vault), budgets);

        for (uint256 i; i < size; ++i) {
            uint256 left = token.balanceOf(address(distributor));
            if (amounts[i] > left) {
                vm.expectRevert(
                    abi.encodeWithSelector(
                        IERC20Errors.ERC20InsufficientBalance.selector, address(distributor), left, amounts[i]
                    )
                );
            }
            distributor.claim(accounts[i], amounts[i], proofs[i]);
            // Whatever the claims, the vault still holds every unspent budget.
            assertEq(token.balanceOf(vault), budgets);
        }

        assertLe(_paidOut(), allocated);
        assertEq(distributor.budgetOf(brand), BUDGET - allocated);
        assertEq(distributor.budgetOf(other), otherBudget);
        vm.prank(other);
        distributor.withdraw(otherBudget, other);
        assertEq(token.balanceOf(other), otherBudget);
    }

    // ----------------------------------------------------------------------------------------
    // Invalid proofs
    // ----------------------------------------------------------------------------------------

    function testFuzz_RevertWhen_ProofByteFlipped(
        uint256 seed,
        uint256 size,
        uint256 index,
        uint256 element,
        uint256 bytePosition,
        uint8 mask
    ) public {
        (address[] memory accounts, uint256[] memory amounts, uint256 leaf, bytes32[] memory proof) =
            _publishRandomTree(seed, size, index, 2);
        element = bound(element, 0, proof.length - 1);
        bytePosition = bound(bytePosition, 0, 31);
        mask = uint8(bound(mask, 1, type(uint8).max));
        proof[element] ^= bytes32(uint256(mask) << (8 * bytePosition));

        _expectInvalidProof(accounts[leaf], amounts[leaf]);
        distributor.claim(accounts[leaf], amounts[leaf], proof);
    }

    function testFuzz_RevertWhen_AmountWrong(uint256 seed, uint256 size, uint256 index, uint256 wrongAmount) public {
        (address[] memory accounts, uint256[] memory amounts, uint256 leaf, bytes32[] memory proof) =
            _publishRandomTree(seed, size, index, 1);
        if (wrongAmount == amounts[leaf]) wrongAmount = amounts[leaf] + 1;

        _expectInvalidProof(accounts[leaf], wrongAmount);
        distributor.claim(accounts[leaf], wrongAmount, proof);
    }

    function testFuzz_RevertWhen_AccountWrong(uint256 seed, uint256 size, uint256 index, address wrongAccount) public {
        (address[] memory accounts, uint256[] memory amounts, uint256 leaf, bytes32[] memory proof) =
            _publishRandomTree(seed, size, index, 1);
        if (wrongAccount == accounts[leaf]) wrongAccount = address(uint160(wrongAccount) ^ 1);

        _expectInvalidProof(wrongAccount, amounts[leaf]);
        distributor.claim(wrongAccount, amounts[leaf], proof);
    }

    function testFuzz_RevertWhen_ProofOfAnotherLeaf(uint256 seed, uint256 size, uint256 index, uint256 other) public {
        size = bound(size, 2, MAX_LEAVES);
        index = bound(index, 0, size - 1);
        other = bound(other, 0, size - 2);
        if (other >= index) ++other;
        (address[] memory accounts, uint256[] memory amounts) = _randomTree(seed, size);
        (bytes32 root, bytes32[][] memory proofs) = MerkleBuilder.proofs(accounts, amounts);
        _publish(root, _sum(amounts));

        _expectInvalidProof(accounts[index], amounts[index]);
        distributor.claim(accounts[index], amounts[index], proofs[other]);
    }

    function testFuzz_RevertWhen_ProofRandom(uint256 seed, uint256 size, uint256 index, bytes32[] memory proof) public {
        // Two leaves at least, so even an empty proof (the leaf itself) is not the root.
        (address[] memory accounts, uint256[] memory amounts, uint256 leaf,) = _publishRandomTree(seed, size, index, 2);

        _expectInvalidProof(accounts[leaf], amounts[leaf]);
        distributor.claim(accounts[leaf], amounts[leaf], proof);
    }

    function testFuzz_RevertWhen_ProofTruncatedOrExtended(
        uint256 seed,
        uint256 size,
        uint256 index,
        bytes32 extra,
        bool truncate
    ) public {
        (address[] memory accounts, uint256[] memory amounts, uint256 leaf, bytes32[] memory proof) =
            _publishRandomTree(seed, size, index, 2);
        bytes32[] memory altered = new bytes32[](truncate ? proof.length - 1 : proof.length + 1);
        for (uint256 i; i < altered.length && i < proof.length; ++i) {
            altered[i] = proof[i];
        }
        if (!truncate) altered[proof.length] = extra;

        _expectInvalidProof(accounts[leaf], amounts[leaf]);
        distributor.claim(accounts[leaf], amounts[leaf], altered);
    }

    function testFuzz_RevertWhen_ClaimManyHasOneTamperedProof(uint256 seed, uint256 size, uint256 bad) public {
        size = bound(size, 2, MAX_LEAVES);
        bad = bound(bad, 0, size - 1);
        (address[] memory accounts, uint256[] memory amounts) = _randomTree(seed, size);
        (bytes32 root, bytes32[][] memory proofs) = MerkleBuilder.proofs(accounts, amounts);
        _publish(root, _sum(amounts));
        proofs[bad][0] ^= bytes32(uint256(1));

        _expectInvalidProof(accounts[bad], amounts[bad]);
        distributor.claimMany(accounts, amounts, proofs);
    }

    // ----------------------------------------------------------------------------------------
    // MerkleBuilder format (shared with the Python backend)
    // ----------------------------------------------------------------------------------------

    function testFuzz_proofs_VerifyWithOpenZeppelin(uint256 seed, uint256 size) public pure {
        size = bound(size, 1, MAX_LEAVES);
        (address[] memory accounts, uint256[] memory amounts) = _randomTree(seed, size);
        (bytes32 root, bytes32[][] memory proofs) = MerkleBuilder.proofs(accounts, amounts);
        for (uint256 i; i < size; ++i) {
            assertTrue(MerkleProof.verify(proofs[i], root, MerkleBuilder.leaf(accounts[i], amounts[i])));
        }
    }

    function test_root_OfOneLeafIsTheLeaf() public pure {
        address[] memory accounts = new address[](1);
        uint256[] memory amounts = new uint256[](1);
        (accounts[0], amounts[0]) = (address(0xA11CE), 42);

        (bytes32 root, bytes32[] memory proof) = MerkleBuilder.build(accounts, amounts, 0);

        assertEq(root, MerkleBuilder.leaf(address(0xA11CE), 42));
        assertEq(proof.length, 0);
    }

    function test_root_PromotesOddNodeUnchanged() public pure {
        (address[] memory accounts, uint256[] memory amounts) = _randomTree(7, 5);
        bytes32[] memory l = MerkleBuilder.leaves(accounts, amounts);
        // Level 1: h(0,1), h(2,3), l4 promoted; level 2: h(h01,h23), l4 promoted; root: h of both.
        bytes32 h01 = _sortedHash(l[0], l[1]);
        bytes32 h23 = _sortedHash(l[2], l[3]);
        bytes32 expected = _sortedHash(_sortedHash(h01, h23), l[4]);

        (bytes32 root, bytes32[] memory proof) = MerkleBuilder.build(accounts, amounts, 4);

        assertEq(root, expected);
        // The promoted leaf's proof has a single element: the sibling at the only level it meets one.
        assertEq(proof.length, 1);
        assertEq(proof[0], _sortedHash(h01, h23));
    }

    /// Reference vector for the Python backend: accounts 0x…01, 0x…02, 0x…03 with cumulative
    /// amounts 100, 200, 300 (computed independently with `cast keccak`).
    function test_root_MatchesReferenceVector() public pure {
        address[] memory accounts = new address[](3);
        uint256[] memory amounts = new uint256[](3);
        (accounts[0], accounts[1], accounts[2]) = (address(1), address(2), address(3));
        (amounts[0], amounts[1], amounts[2]) = (100, 200, 300);

        assertEq(MerkleBuilder.root(accounts, amounts), REFERENCE_ROOT);
    }

    function test_proofs_ScaleToThreeHundredLeaves() public {
        (address[] memory accounts, uint256[] memory amounts) = _randomTree(300, 300);
        (bytes32 root, bytes32[][] memory proofs) = MerkleBuilder.proofs(accounts, amounts);
        uint256 total = _sum(amounts);
        _publish(root, total);

        assertEq(distributor.claimMany(accounts, amounts, proofs), total);
    }

    function _sortedHash(bytes32 a, bytes32 b) private pure returns (bytes32) {
        (bytes32 lo, bytes32 hi) = uint256(a) < uint256(b) ? (a, b) : (b, a);
        return keccak256(bytes.concat(lo, hi));
    }
}

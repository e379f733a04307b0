// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title MerkleBuilder
/// @notice Test helper building the RewardDistributor's cumulative-claims Merkle tree from
/// (account, cumulative amount) pairs, and its root and proofs.
/// @dev The format, which the Python backend must reproduce byte for byte:
/// - leaf `i` is `keccak256(bytes.concat(keccak256(abi.encode(accounts[i], amounts[i]))))`, kept
///   in the order given (leaves are NOT sorted);
/// - each level pairs nodes left to right, `(0,1), (2,3), ...`, and an inner node is the keccak256
///   of the two children sorted ascending as uint256 (OpenZeppelin `Hashes.commutativeKeccak256`),
///   so proofs carry no left/right flags and verify with OpenZeppelin `MerkleProof`;
/// - when a level has an odd number of nodes, the last one is promoted UNCHANGED to the next level
///   (never hashed with itself), so its proof simply has no element for that level;
/// - a one-leaf tree's root is the leaf itself and its proof is empty.
/// Building is O(n); a proof from built levels is O(log n), so `build` and `proofs` stay cheap
/// for a few hundred leaves.
library MerkleBuilder {
    /// @notice The tree has no leaf.
    error EmptyTree();
    /// @notice Accounts and amounts differ in length.
    error LengthMismatch(uint256 accounts, uint256 amounts);
    /// @notice No leaf at `index`.
    error IndexOutOfRange(uint256 index, uint256 length);

    /// @notice The leaf of `account` with `cumulativeAmount`, as RewardDistributor computes it.
    function leaf(address account, uint256 cumulativeAmount) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount))));
    }

    /// @notice The leaves of the pairs `(accounts[i], amounts[i])`, in order.
    function leaves(address[] memory accounts, uint256[] memory amounts)
        internal
        pure
        returns (bytes32[] memory hashed)
    {
        if (accounts.length != amounts.length) {
            revert LengthMismatch(accounts.length, amounts.length);
        }
        hashed = new bytes32[](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            hashed[i] = leaf(accounts[i], amounts[i]);
        }
    }

    /// @notice The inner node over `a` and `b`: keccak256 of the sorted pair.
    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }

    /// @notice Every level of the tree over `leafHashes`, from the leaves (`levels[0]`) up to the
    /// root (`levels[levels.length - 1][0]`).
    function levels(bytes32[] memory leafHashes) internal pure returns (bytes32[][] memory tree) {
        uint256 width = leafHashes.length;
        if (width == 0) revert EmptyTree();
        uint256 depth = 1;
        for (uint256 w = width; w > 1; w = (w + 1) / 2) {
            ++depth;
        }
        tree = new bytes32[][](depth);
        tree[0] = leafHashes;
        for (uint256 d = 1; d < depth; ++d) {
            bytes32[] memory below = tree[d - 1];
            uint256 belowWidth = below.length;
            bytes32[] memory level = new bytes32[]((belowWidth + 1) / 2);
            for (uint256 i; i + 1 < belowWidth; i += 2) {
                level[i / 2] = hashPair(below[i], below[i + 1]);
            }
            // An odd node out moves up as it is (not hashed with itself).
            if (belowWidth % 2 == 1) level[belowWidth / 2] = below[belowWidth - 1];
            tree[d] = level;
        }
    }

    /// @notice The root of built `tree`.
    function rootOf(bytes32[][] memory tree) internal pure returns (bytes32) {
        return tree[tree.length - 1][0];
    }

    /// @notice The proof of leaf `index` in built `tree`: its sibling at each level that has one.
    function proofOf(bytes32[][] memory tree, uint256 index) internal pure returns (bytes32[] memory proof) {
        if (index >= tree[0].length) revert IndexOutOfRange(index, tree[0].length);
        proof = new bytes32[](tree.length - 1);
        uint256 length;
        for (uint256 d; d + 1 < tree.length; ++d) {
            uint256 sibling = index ^ 1;
            if (sibling < tree[d].length) proof[length++] = tree[d][sibling];
            index >>= 1;
        }
        // Promoted levels contribute no element: shrink the array to what was written.
        assembly ("memory-safe") {
            mstore(proof, length)
        }
    }

    /// @notice The root of the tree over `(accounts[i], amounts[i])`.
    function root(address[] memory accounts, uint256[] memory amounts) internal pure returns (bytes32) {
        return rootOf(levels(leaves(accounts, amounts)));
    }

    /// @notice The root of the tree over `(accounts[i], amounts[i])` and the proof of leaf `index`.
    function build(address[] memory accounts, uint256[] memory amounts, uint256 index)
        internal
        pure
        returns (bytes32 treeRoot, bytes32[] memory proof)
    {
        bytes32[][] memory tree = levels(leaves(accounts, amounts));
        return (rootOf(tree), proofOf(tree, index));
    }

    /// @notice The root of the tree over `(accounts[i], amounts[i])` and every leaf's proof, in
    /// leaf order (ready for `claimMany`).
    function proofs(address[] memory accounts, uint256[] memory amounts)
        internal
        pure
        returns (bytes32 treeRoot, bytes32[][] memory all)
    {
        bytes32[][] memory tree = levels(leaves(accounts, amounts));
        all = new bytes32[][](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            all[i] = proofOf(tree, i);
        }
        return (rootOf(tree), all);
    }
}

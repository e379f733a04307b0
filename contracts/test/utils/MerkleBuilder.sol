// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title MerkleBuilder
/// @notice Test helper building the RewardDistributor's cumulative-claims Merkle tree exactly as
/// OpenZeppelin's StandardMerkleTree (npm package merkle-tree 1.0.8, file dist/core.js) does for the
/// leaf encoding `["address", "uint256", "bytes32"]` = (account, cumulative amount, salt).
/// @dev The format, which the Python backend and the JS library reproduce byte for byte:
/// - leaf `keccak256(bytes.concat(keccak256(abi.encode(account, amount, salt))))`;
/// - leaves sorted ascending by hash (StandardMerkleTree's default `sortLeaves: true`);
/// - the tree is a complete binary tree in one array of `2n - 1` nodes: sorted leaf `k` sits at
///   `tree[2n - 2 - k]`, node `i`'s children at `2i + 1` and `2i + 2`, the root at `tree[0]`;
///   an inner node is keccak256 of its two children sorted ascending (OZ `commutativeKeccak256`);
/// - a proof lists the siblings from the leaf up to (not including) the root.
library MerkleBuilder {
    /// @notice The tree has no leaf.
    error EmptyTree();
    /// @notice Accounts, amounts and salts differ in length.
    error LengthMismatch(uint256 accounts, uint256 amounts, uint256 salts);
    /// @notice No leaf at `index`.
    error IndexOutOfRange(uint256 index, uint256 length);

    /// @notice The leaf of `account` with `cumulativeAmount` and `salt`, as RewardDistributor computes it.
    function leaf(address account, uint256 cumulativeAmount, bytes32 salt) internal pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount, salt))));
    }

    /// @notice The inner node over `a` and `b`: keccak256 of the sorted pair.
    function hashPair(bytes32 a, bytes32 b) internal pure returns (bytes32) {
        return a < b ? keccak256(abi.encodePacked(a, b)) : keccak256(abi.encodePacked(b, a));
    }

    /// @notice The tree array over the leaves of `(accounts[i], amounts[i], salts[i])`, and for each
    /// input `i` the index of its leaf in that array.
    function tree(address[] memory accounts, uint256[] memory amounts, bytes32[] memory salts)
        internal
        pure
        returns (bytes32[] memory nodes, uint256[] memory positions)
    {
        uint256 n = accounts.length;
        if (amounts.length != n || salts.length != n) revert LengthMismatch(n, amounts.length, salts.length);
        if (n == 0) revert EmptyTree();
        bytes32[] memory hashes = new bytes32[](n);
        uint256[] memory order = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            hashes[i] = leaf(accounts[i], amounts[i], salts[i]);
            order[i] = i;
        }
        // Insertion sort of the input indices by leaf hash (test trees are small).
        for (uint256 i = 1; i < n; ++i) {
            uint256 x = order[i];
            uint256 j = i;
            while (j > 0 && hashes[order[j - 1]] > hashes[x]) {
                order[j] = order[j - 1];
                --j;
            }
            order[j] = x;
        }
        nodes = new bytes32[](2 * n - 1);
        positions = new uint256[](n);
        for (uint256 k; k < n; ++k) {
            uint256 at = nodes.length - 1 - k;
            nodes[at] = hashes[order[k]];
            positions[order[k]] = at;
        }
        for (uint256 i = nodes.length - n; i > 0; --i) {
            nodes[i - 1] = hashPair(nodes[2 * i - 1], nodes[2 * i]);
        }
    }

    /// @notice The proof of the node at `index` of `nodes`.
    function proofOf(bytes32[] memory nodes, uint256 index) internal pure returns (bytes32[] memory proof) {
        if (index >= nodes.length) revert IndexOutOfRange(index, nodes.length);
        uint256 depth;
        for (uint256 i = index; i > 0; i = (i - 1) / 2) {
            ++depth;
        }
        proof = new bytes32[](depth);
        for (uint256 d; index > 0; ++d) {
            proof[d] = nodes[index % 2 == 1 ? index + 1 : index - 1];
            index = (index - 1) / 2;
        }
    }

    /// @notice The root of the tree over `(accounts[i], amounts[i], salts[i])`.
    function root(address[] memory accounts, uint256[] memory amounts, bytes32[] memory salts)
        internal
        pure
        returns (bytes32)
    {
        (bytes32[] memory nodes,) = tree(accounts, amounts, salts);
        return nodes[0];
    }

    /// @notice The root and the proof of input `index`.
    function build(address[] memory accounts, uint256[] memory amounts, bytes32[] memory salts, uint256 index)
        internal
        pure
        returns (bytes32 treeRoot, bytes32[] memory proof)
    {
        (bytes32[] memory nodes, uint256[] memory positions) = tree(accounts, amounts, salts);
        if (index >= positions.length) revert IndexOutOfRange(index, positions.length);
        return (nodes[0], proofOf(nodes, positions[index]));
    }

    /// @notice The root and every input's proof, in input order (ready for `claimMany`).
    function proofs(address[] memory accounts, uint256[] memory amounts, bytes32[] memory salts)
        internal
        pure
        returns (bytes32 treeRoot, bytes32[][] memory all)
    {
        (bytes32[] memory nodes, uint256[] memory positions) = tree(accounts, amounts, salts);
        all = new bytes32[][](accounts.length);
        for (uint256 i; i < accounts.length; ++i) {
            all[i] = proofOf(nodes, positions[i]);
        }
        return (nodes[0], all);
    }

    /// @notice Deterministic per-account salts for tests: `keccak256(seed, i)`.
    function saltsFor(uint256 n, bytes32 seed) internal pure returns (bytes32[] memory s) {
        s = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            s[i] = keccak256(abi.encode(seed, i));
        }
    }
}

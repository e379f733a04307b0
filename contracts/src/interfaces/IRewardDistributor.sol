// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IRewardDistributor
/// @notice Brands' reward budgets and the settlement of rewards per epoch. For each epoch the
/// operator publishes one Merkle root over (account, cumulative amount) and a commitment to the
/// off-chain records it was computed from, debiting each brand's budget by what its customers
/// earned. A claim pays the difference between the proven cumulative amount and what the account
/// already claimed, so one claim covers any number of epochs and nothing is paid twice.
/// @dev Leaves are `keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount))))`;
/// inner nodes hash the sorted pair (OpenZeppelin MerkleProof); a level's last node without a
/// sibling moves up unchanged. Budgets sit in a BudgetVault, so this contract only ever holds what
/// epochs allocated and nobody claimed yet: claims cannot reach unspent budgets. Cumulative
/// amounts never decrease from one epoch to the next (the previous root stays claimable).
interface IRewardDistributor {
    /// @notice Epochs are published in order, starting at 1.
    error EpochOutOfOrder(uint64 expected, uint64 given);
    /// @notice Two lists that must be as long as each other are not.
    error LengthMismatch(uint256 expected, uint256 given);
    /// @notice A brand's budget cannot pay what the epoch debits from it.
    error InsufficientBudget(address brand, uint256 available, uint256 requested);
    /// @notice The proof does not lead to the current (or previous) root.
    error InvalidProof(address account, uint256 cumulativeAmount);
    /// @notice The account has already claimed its cumulative amount.
    error NothingToClaim(address account, uint256 cumulativeAmount, uint256 claimed);
    /// @notice The amount is zero.
    error ZeroAmount();
    /// @notice The root is zero.
    error ZeroRoot();
    /// @notice The address is zero.
    error ZeroAddress();
    /// @notice Budget cannot be withdrawn to the distributor or its vault (it would be lost to claims).
    error InvalidRecipient(address to);

    /// @notice `from` deposited `amount` into `brand`'s budget.
    event BudgetDeposited(address indexed brand, address indexed from, uint256 amount);
    /// @notice `brand` withdrew `amount` of unspent budget to `to`.
    event BudgetWithdrawn(address indexed brand, address indexed to, uint256 amount);
    /// @notice An epoch's root was published. Each debit packs a brand (high 160 bits) and the
    /// amount its budget paid into the epoch (low 96 bits); `total` is their sum.
    event EpochPublished(uint64 indexed epoch, bytes32 root, bytes32 commitment, uint256 total, uint256[] debits);
    /// @notice `account` was paid `amount`, bringing its claimed total to `cumulativeAmount`.
    event Claimed(address indexed account, uint256 amount, uint256 cumulativeAmount);

    /// @notice Moves `amount` CASH from the caller into `brand`'s budget (needs allowance).
    function deposit(address brand, uint256 amount) external;

    /// @notice Withdraws `amount` of the caller's own unspent budget to `to`.
    function withdraw(uint256 amount, address to) external;

    /// @notice Publishes epoch `epoch` (the next in order). Operator only. Each entry of `debits` is
    /// `uint256(uint160(brand)) << 96 | amount` (amount < 2^96); the epoch's total is their sum,
    /// moved from the budgets into this contract for claims.
    function publishEpoch(uint64 epoch, bytes32 root, bytes32 commitment, uint256[] calldata debits) external;

    /// @notice Pays `account` what it is owed under the current (or previous) root. Anyone may
    /// call; the tokens always go to `account`.
    /// @return amount What was paid.
    function claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        external
        returns (uint256 amount);

    /// @notice Claims for many accounts in one transaction. Accounts with nothing left to claim
    /// are skipped (so a relayer can safely resend a batch); an invalid proof reverts.
    /// @return total What was paid in all.
    function claimMany(address[] calldata accounts, uint256[] calldata cumulativeAmounts, bytes32[][] calldata proofs)
        external
        returns (uint256 total);

    /// @notice The CASH token paid out.
    function token() external view returns (address);

    /// @notice The vault holding brands' unspent budgets.
    function vault() external view returns (address);

    /// @notice The root of the latest published epoch.
    function currentRoot() external view returns (bytes32);

    /// @notice The root of the epoch before the latest (still accepted for claims).
    function previousRoot() external view returns (bytes32);

    /// @notice The latest published epoch (0 before the first).
    function currentEpoch() external view returns (uint64);

    /// @notice What `account` has claimed in all.
    function claimed(address account) external view returns (uint256);

    /// @notice `brand`'s unspent budget.
    function budgetOf(address brand) external view returns (uint256);

    /// @notice Sum of all epochs' totals (what claims may pay in all).
    function totalAllocated() external view returns (uint256);
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IRewardDistributor
/// @notice Brands' reward budgets and the settlement of rewards per epoch. For each epoch the
/// operator publishes one Merkle root over (account, cumulative amount, salt) and a commitment to
/// the off-chain records it was computed from, debiting brands' budgets. The root is OPTIMISTIC:
/// it stays pending for `challengeWindow` seconds, during which the auditor may veto it (budgets
/// and reserves are restored exactly and the operator republishes that epoch number); after the
/// window anyone finalises it, and it becomes the one claimable root. A claim pays the difference
/// between the proven cumulative amount and what the account already claimed.
/// @dev Leaves are OpenZeppelin StandardMerkleTree leaves over `(address, uint256, bytes32)`:
/// `keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount, salt))))`, verified
/// with OpenZeppelin MerkleProof (sorted pairs). CASH is minted only by `fund`, straight into the
/// BudgetVault, so the token's supply equals what was funded. The vault holds budgets and the
/// pending epoch's total; this contract holds only finalised allocations not yet claimed, so the
/// claims under a root can never exceed what that root's epochs debited.
interface IRewardDistributor {
    /// @notice One brand's share of an epoch. `fromReserve` settles recorded accesses and must not
    /// exceed the brand's reserve; `fromBudget` (e.g. purchase cashback) comes from the unreserved
    /// part. ABI decoding refuses amounts of 2^96 or more, so nothing can wrap into another field.
    struct Debit {
        address brand;
        uint96 fromReserve;
        uint96 fromBudget;
    }

    /// @notice Expired, unclaimed CASH an epoch gives back to the brand that funded it. Applied
    /// when the epoch is finalised (a veto drops it), out of what finalised epochs allocated.
    struct Credit {
        address brand;
        uint96 amount;
    }

    /// @notice The epoch inside (or past, but not yet finalised) its challenge window.
    struct PendingEpoch {
        uint64 epoch; // 0 when none is pending
        bytes32 root;
        uint40 finalisesAt; // claimable from this time on, once `finalizeEpoch` ran
        uint256 total;
        bytes32 debitsHash; // as in EpochPublished; a veto must present debits with this hash
    }

    /// @notice Epochs are published in order, starting at 1 (a vetoed number is published again).
    error EpochOutOfOrder(uint64 expected, uint64 given);
    /// @notice An epoch is pending and its challenge window has not ended yet.
    error EpochPending(uint64 epoch, uint40 finalisesAt);
    /// @notice No epoch is pending (or not the one named).
    error NoPendingEpoch(uint64 given);
    /// @notice The pending epoch's challenge window is still open: it cannot be finalised yet.
    error ChallengeWindowOpen(uint64 epoch, uint40 finalisesAt);
    /// @notice The challenge window ended; a veto is too late.
    error ChallengeWindowOver(uint64 epoch, uint40 finalisesAt);
    /// @notice The debits given to a veto are not the ones published.
    error DebitsMismatch(bytes32 expected, bytes32 given);
    /// @notice Debit `index` holds a brand above 160 bits or an amount of 2^96 or more.
    error DebitOutOfRange(uint256 index);
    /// @notice Two lists that must be as long as each other are not.
    error LengthMismatch(uint256 expected, uint256 given);
    /// @notice A brand's unreserved budget cannot pay what is asked of it.
    error InsufficientBudget(address brand, uint256 available, uint256 requested);
    /// @notice A brand's reserve is smaller than what an epoch settles from it.
    error InsufficientReserve(address brand, uint256 reserved, uint256 requested);
    /// @notice The proof does not lead to the claimable root.
    error InvalidProof(address account, uint256 cumulativeAmount);
    /// @notice The account has already claimed its cumulative amount.
    error NothingToClaim(address account, uint256 cumulativeAmount, uint256 claimed);
    /// @notice Deposits and funding are for registered brands only.
    error NotARegisteredBrand(address brand);
    /// @notice The brand is not retired (only a retired brand's budget is refunded).
    error NotRetired(address brand);
    /// @notice Only the bound ConsentRegistry may reserve budget or retire a brand.
    error NotRegistry(address caller);
    /// @notice CASH cannot be swept: none can reach this contract or the vault by mistake.
    error CannotSweepCash();
    /// @notice The amount is zero.
    error ZeroAmount();
    /// @notice The root is zero.
    error ZeroRoot();
    /// @notice The address is zero.
    error ZeroAddress();
    /// @notice Budget cannot be withdrawn to the distributor or its vault.
    error InvalidRecipient(address to);
    /// @notice Expiry returns were computed against `snapshot` claims but `count` have been paid.
    error ClaimsMovedSinceSnapshot(uint256 snapshot, uint256 count);
    /// @notice The epoch returns more than finalised epochs allocated and nobody has claimed yet.
    error ReturnsExceedUnclaimed(uint256 unclaimed, uint256 returned);
    /// @notice Claims wait while an epoch that lowers claimable amounts (by expiry) is pending.
    error ClaimsHeldForExpiry(uint64 epoch, uint40 finalisesAt);

    /// @notice The funder minted `amount` new CASH into `brand`'s budget (against a payment received
    /// off chain; `paymentRef` identifies it).
    event BudgetFunded(address indexed brand, address indexed funder, uint256 amount, bytes32 paymentRef);
    /// @notice `from` deposited `amount` of existing CASH into `brand`'s budget.
    event BudgetDeposited(address indexed brand, address indexed from, uint256 amount);
    /// @notice `brand` withdrew `amount` of unreserved budget to `to`.
    event BudgetWithdrawn(address indexed brand, address indexed to, uint256 amount);
    /// @notice Recorded accesses reserved `amount` of `brand`'s budget (now `reserved` in all).
    event BudgetReserved(address indexed brand, uint256 amount, uint256 reserved);
    /// @notice The operator released `amount` of `brand`'s reserve that no epoch will settle.
    event ReserveReleased(address indexed brand, uint256 amount, uint256 reserved);
    /// @notice A retired brand's unreserved budget went back to it.
    event RetiredBudgetReturned(address indexed brand, uint256 amount);
    /// @notice An epoch's root was published and is pending until `finalisesAt`; `total` is the sum
    /// of the debits, taken from the budgets (and still held by the vault until finalisation).
    /// @dev The debits themselves are in the transaction's calldata (`publishEpoch` input), which
    /// `debitsHash` commits to: keccak256 over each debit's three ABI words (brand, fromReserve,
    /// fromBudget) concatenated, i.e. `abi.encode(debits)` without its offset and length words.
    /// Keeping them out of the log saves 768 gas of log data per brand (the per-brand goal).
    event EpochPublished(
        uint64 indexed epoch, bytes32 root, bytes32 commitment, uint256 total, uint40 finalisesAt, bytes32 debitsHash
    );
    /// @notice The auditor vetoed a pending epoch; its debits went back to the budgets and reserves.
    event EpochVetoed(uint64 indexed epoch, bytes32 root, address indexed auditor);
    /// @notice An epoch's root became the claimable root; its total moved from the vault here.
    event EpochFinalized(uint64 indexed epoch, bytes32 root, uint256 total);
    /// @notice Finalising `epoch` gave `amount` of expired, unclaimed CASH back to `brand`'s budget.
    event ExpiryReturned(uint64 indexed epoch, address indexed brand, uint256 amount);
    /// @notice `account` was paid `amount`, bringing its claimed total to `cumulativeAmount`.
    event Claimed(address indexed account, uint256 amount, uint256 cumulativeAmount);
    /// @notice A token other than CASH sent here or to the vault by mistake was swept to `to`.
    event Swept(address indexed token, address indexed to, uint256 amount);

    // ---- budgets ----

    /// @notice Mints `amount` CASH straight into registered `brand`'s budget. FUNDER_ROLE only,
    /// against a payment received off chain. The only way CASH is created.
    function fund(address brand, uint256 amount, bytes32 paymentRef) external;

    /// @notice Moves `amount` of the caller's CASH into registered `brand`'s budget (needs allowance).
    function deposit(address brand, uint256 amount) external;

    /// @notice Withdraws `amount` of the caller's unreserved budget (budget − reserved) to `to`.
    /// Open while paused: it is the brand's own money that nothing owes.
    function withdraw(uint256 amount, address to) external;

    /// @notice Reserves `amount` of `brand`'s unreserved budget for recorded accesses. Registry only.
    function reserve(address brand, uint256 amount) external;

    /// @notice Releases `amount` of `brand`'s reserve back to its unreserved budget. Operator only
    /// (for recorded accesses the backend will never settle).
    function releaseReserve(address brand, uint256 amount) external;

    /// @notice Returns a retired brand's unreserved budget to it. Registry (on deregistration).
    function retireBrand(address brand) external;

    /// @notice Returns a retired brand's unreserved budget to it (e.g. after its reserve was settled
    /// or released). Anyone may call; the tokens always go to the brand.
    function refundRetired(address brand) external returns (uint256 amount);

    // ---- epochs ----

    /// @notice Publishes epoch `epoch` (the next in order) as pending. Operator only. A pending
    /// epoch whose window has ended is finalised first; one still in its window makes this revert.
    /// `expiryReturns` (may be empty) give expired, unclaimed CASH back to the funding brands when
    /// this epoch is finalised; with any, `claimsSnapshot` must equal `claimCount()` (the count the
    /// epoch's cut-off saw), and claims are held until finalisation (a veto lifts the hold), so no
    /// claim under the previous root can take what the new, lower root no longer allows.
    function publishEpoch(
        uint64 epoch,
        bytes32 root,
        bytes32 commitment,
        Debit[] calldata debits,
        Credit[] calldata expiryReturns,
        uint256 claimsSnapshot
    ) external;

    /// @notice Vetoes the pending `epoch` inside its challenge window; `debits` must be exactly the
    /// published ones. Auditor only; works while paused.
    function vetoEpoch(uint64 epoch, Debit[] calldata debits) external;

    /// @notice Makes the pending epoch's root the claimable one once its window has ended. Anyone.
    function finalizeEpoch() external;

    // ---- claims ----

    /// @notice Pays `account` what it is owed under the claimable root. Anyone may call; the tokens
    /// always go to `account`. Closed while paused.
    /// @return amount What was paid.
    function claim(address account, uint256 cumulativeAmount, bytes32 salt, bytes32[] calldata proof)
        external
        returns (uint256 amount);

    /// @notice Claims for many accounts in one transaction. Accounts with nothing left to claim and
    /// `address(0)` entries are skipped (so a relayer can safely resend a batch); an invalid proof
    /// reverts. Closed while paused.
    /// @return total What was paid in all.
    function claimMany(
        address[] calldata accounts,
        uint256[] calldata cumulativeAmounts,
        bytes32[] calldata salts,
        bytes32[][] calldata proofs
    ) external returns (uint256 total);

    /// @notice Sends a token other than CASH held by this contract or the vault to `to`. Admin.
    function sweep(address token, address to) external;

    // ---- views ----

    /// @notice The CASH token (created by this contract's constructor).
    function token() external view returns (address);

    /// @notice The vault holding brands' budgets and the pending epoch's total.
    function vault() external view returns (address);

    /// @notice The ConsentRegistry whose brands may hold budgets.
    function registry() external view returns (address);

    /// @notice Seconds a published root stays vetoable before it can be finalised.
    function challengeWindow() external view returns (uint40);

    /// @notice The one claimable root (of `claimableEpoch`); zero before the first finalisation.
    function claimableRoot() external view returns (bytes32);

    /// @notice The epoch whose root is claimable (0 before the first finalisation).
    function claimableEpoch() external view returns (uint64);

    /// @notice The latest published epoch not vetoed, pending or finalised (0 before the first).
    function latestEpoch() external view returns (uint64);

    /// @notice The pending epoch (`epoch == 0` if none).
    function pendingEpoch() external view returns (PendingEpoch memory);

    /// @notice What `account` has claimed in all.
    function claimed(address account) external view returns (uint256);

    /// @notice `brand`'s budget (reserved and unreserved).
    function budgetOf(address brand) external view returns (uint256);

    /// @notice The part of `brand`'s budget reserved by recorded, unsettled accesses.
    function reservedOf(address brand) external view returns (uint256);

    /// @notice What `brand` may still reserve or withdraw: budget − reserved.
    function availableOf(address brand) external view returns (uint256);

    /// @notice Sum of all finalised epochs' totals (what claims may pay in all).
    function totalAllocated() external view returns (uint256);

    /// @notice Sum of all `fund` amounts (equals CASH's total supply).
    function totalFunded() external view returns (uint256);

    /// @notice Sum of all expiry returns applied (finalised epochs' `expiryReturns`).
    function totalReturned() external view returns (uint256);

    /// @notice How many claims have paid something (the snapshot `publishEpoch` checks).
    function claimCount() external view returns (uint256);

    /// @notice The expiry returns the pending epoch will apply when finalised.
    function pendingReturns() external view returns (Credit[] memory);
}

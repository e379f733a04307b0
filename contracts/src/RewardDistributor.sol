// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {
    AccessControlDefaultAdminRules
} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {BudgetVault} from "./BudgetVault.sol";
import {CashbackToken} from "./CashbackToken.sol";
import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {IRewardDistributor} from "./interfaces/IRewardDistributor.sol";

/// @title RewardDistributor
/// @notice Brands' budgets (funded, reserved by recorded accesses, debited by epochs) and the
/// settlement of rewards by optimistic, cumulative Merkle roots.
/// @dev Pausing stops funding, deposits, publication, finalisation and claims; withdrawals of
/// unreserved budget and the auditor's veto stay open. Claims read one root slot only: pausing
/// parks that root aside and unpausing puts it back, so the pause costs claims no extra SLOAD.
contract RewardDistributor is IRewardDistributor, AccessControlDefaultAdminRules, Pausable {
    using SafeERC20 for IERC20;

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    bytes32 public constant FUNDER_ROLE = keccak256("FUNDER_ROLE");
    bytes32 public constant AUDITOR_ROLE = keccak256("AUDITOR_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @dev One slot per brand: the access check, a reservation and a debit each touch it once.
    struct Budget {
        uint128 budget;
        uint128 reserved;
    }

    /// @dev One slot: publication reads and writes it once.
    struct EpochState {
        uint64 latestEpoch;
        uint40 pendingFinalisesAt; // 0: nothing pending
        uint128 pendingTotal;
    }

    CashbackToken private immutable _TOKEN;
    BudgetVault private immutable _VAULT;
    IConsentRegistry private immutable _REGISTRY;
    uint40 private immutable _CHALLENGE_WINDOW;

    bytes32 private _root; // the claimable root; zero while paused
    bytes32 private _parkedRoot; // the claimable root while paused
    // Kept (not cleared) after finalisation or veto so the next publication rewrites a non-zero slot.
    bytes32 private _pendingRoot;
    bytes32 private _pendingDebitsHash;
    EpochState private _state;
    // Packed: neither is on the claim path.
    uint128 private _totalAllocated;
    uint128 private _totalFunded;
    uint256 private _totalReturned;
    uint256 private _claimCount;
    bytes32 private _heldRoot; // the claimable root while an epoch with expiry returns is pending
    Credit[] private _pendingReturns;

    mapping(address account => uint256) private _claimed;
    mapping(address brand => Budget) private _budgets;
    mapping(address brand => bool) private _retired;

    /// @param registry_ The ConsentRegistry (its brands hold budgets; it alone reserves and retires).
    /// @param challengeWindow_ Seconds a published root stays vetoable before it may be finalised.
    /// @param adminDelay Seconds a transfer of the admin role waits (AccessControlDefaultAdminRules).
    constructor(
        address registry_,
        uint40 challengeWindow_,
        uint48 adminDelay,
        address admin,
        address operator,
        address funder,
        address auditor,
        address pauser
    ) AccessControlDefaultAdminRules(adminDelay, admin) {
        if (
            registry_ == address(0) || operator == address(0) || funder == address(0) || auditor == address(0)
                || pauser == address(0)
        ) revert ZeroAddress();
        _REGISTRY = IConsentRegistry(registry_);
        _CHALLENGE_WINDOW = challengeWindow_;
        CashbackToken token_ = new CashbackToken();
        _TOKEN = token_;
        _VAULT = BudgetVault(token_.vault());
        _grantRole(OPERATOR_ROLE, operator);
        _grantRole(FUNDER_ROLE, funder);
        _grantRole(AUDITOR_ROLE, auditor);
        _grantRole(PAUSER_ROLE, pauser);
    }

    // ----------------------------------------------------------------------------------------
    // Budgets
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IRewardDistributor
    function fund(address brand, uint256 amount, bytes32 paymentRef) external onlyRole(FUNDER_ROLE) whenNotPaused {
        _credit(brand, amount);
        _totalFunded = SafeCast.toUint128(uint256(_totalFunded) + amount);
        emit BudgetFunded(brand, msg.sender, amount, paymentRef);
        _TOKEN.mint(address(_VAULT), amount);
    }

    /// @inheritdoc IRewardDistributor
    function deposit(address brand, uint256 amount) external whenNotPaused {
        _credit(brand, amount);
        emit BudgetDeposited(brand, msg.sender, amount);
        IERC20(address(_TOKEN)).safeTransferFrom(msg.sender, address(_VAULT), amount);
    }

    /// @inheritdoc IRewardDistributor
    function withdraw(uint256 amount, address to) external {
        if (to == address(0)) revert ZeroAddress();
        if (to == address(this) || to == address(_VAULT)) revert InvalidRecipient(to);
        if (amount == 0) revert ZeroAmount();
        Budget storage b = _budgets[msg.sender];
        uint256 available = b.budget - b.reserved;
        if (amount > available) revert InsufficientBudget(msg.sender, available, amount);
        // Cannot underflow: amount <= budget - reserved was just checked.
        unchecked {
            b.budget -= uint128(amount);
        }
        emit BudgetWithdrawn(msg.sender, to, amount);
        _VAULT.release(address(_TOKEN), to, amount);
    }

    /// @inheritdoc IRewardDistributor
    function reserve(address brand, uint256 amount) external {
        if (msg.sender != address(_REGISTRY)) revert NotRegistry(msg.sender);
        Budget storage b = _budgets[brand];
        uint256 reserved = b.reserved;
        uint256 available = b.budget - reserved;
        if (amount > available) revert InsufficientBudget(brand, available, amount);
        // Cannot overflow: reserved + amount <= budget < 2^128.
        unchecked {
            reserved += amount;
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        b.reserved = uint128(reserved);
        emit BudgetReserved(brand, amount, reserved);
    }

    /// @inheritdoc IRewardDistributor
    function releaseReserve(address brand, uint256 amount) external onlyRole(OPERATOR_ROLE) {
        Budget storage b = _budgets[brand];
        uint256 reserved = b.reserved;
        if (amount > reserved) revert InsufficientReserve(brand, reserved, amount);
        // Cannot underflow: checked just above.
        unchecked {
            reserved -= amount;
        }
        // forge-lint: disable-next-line(unsafe-typecast)
        b.reserved = uint128(reserved);
        emit ReserveReleased(brand, amount, reserved);
    }

    /// @inheritdoc IRewardDistributor
    function retireBrand(address brand) external {
        if (msg.sender != address(_REGISTRY)) revert NotRegistry(msg.sender);
        _retired[brand] = true;
        _refund(brand);
    }

    /// @inheritdoc IRewardDistributor
    function refundRetired(address brand) external returns (uint256 amount) {
        if (!_retired[brand]) revert NotRetired(brand);
        amount = _refund(brand);
    }

    // ----------------------------------------------------------------------------------------
    // Epochs
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IRewardDistributor
    function publishEpoch(
        uint64 epoch,
        bytes32 root,
        bytes32 commitment,
        Debit[] calldata debits,
        Credit[] calldata expiryReturns,
        uint256 claimsSnapshot
    ) external onlyRole(OPERATOR_ROLE) whenNotPaused {
        EpochState memory s = _state;
        uint256 finalised = 0;
        if (s.pendingFinalisesAt != 0) {
            if (block.timestamp < s.pendingFinalisesAt) revert EpochPending(s.latestEpoch, s.pendingFinalisesAt);
            finalised = _finalize(s);
        }
        uint64 expected = s.latestEpoch + 1;
        if (epoch != expected) revert EpochOutOfOrder(expected, epoch);
        if (root == bytes32(0)) revert ZeroRoot();

        if (expiryReturns.length != 0) _holdForExpiry(expiryReturns, claimsSnapshot, finalised);
        _markPending(epoch, root, commitment, _takeDebits(debits), debits);
        if (finalised != 0) _VAULT.release(address(_TOKEN), address(this), finalised);
    }

    /// @inheritdoc IRewardDistributor
    function vetoEpoch(uint64 epoch, Debit[] calldata debits) external onlyRole(AUDITOR_ROLE) {
        EpochState memory s = _state;
        if (s.pendingFinalisesAt == 0 || s.latestEpoch != epoch) revert NoPendingEpoch(epoch);
        if (block.timestamp >= s.pendingFinalisesAt) revert ChallengeWindowOver(epoch, s.pendingFinalisesAt);
        bytes32 expected = _pendingDebitsHash;
        bytes32 given = _hashDebits(debits);
        if (given != expected) revert DebitsMismatch(expected, given);

        uint256 n = debits.length;
        for (uint256 i; i < n; ++i) {
            Debit calldata d = debits[i];
            Budget storage b = _budgets[d.brand];
            // Cannot overflow: restores exactly what publication took from these same fields.
            unchecked {
                b.budget += uint128(uint256(d.fromReserve) + d.fromBudget);
                b.reserved += d.fromReserve;
            }
        }
        _state = EpochState({latestEpoch: epoch - 1, pendingFinalisesAt: 0, pendingTotal: 0});
        if (_pendingReturns.length != 0) {
            // The vetoed epoch's returns are dropped and the previous root is claimable again.
            delete _pendingReturns;
            if (paused()) _parkedRoot = _heldRoot;
            else _root = _heldRoot;
            _heldRoot = bytes32(0);
        }
        emit EpochVetoed(epoch, _pendingRoot, msg.sender);
    }

    /// @inheritdoc IRewardDistributor
    function finalizeEpoch() external whenNotPaused {
        EpochState memory s = _state;
        if (s.pendingFinalisesAt == 0) revert NoPendingEpoch(0);
        if (block.timestamp < s.pendingFinalisesAt) revert ChallengeWindowOpen(s.latestEpoch, s.pendingFinalisesAt);
        uint256 total = _finalize(s);
        _state = s;
        if (total != 0) _VAULT.release(address(_TOKEN), address(this), total);
    }

    /// @dev Records `epoch` as pending with its root, debited total and debits' hash.
    function _markPending(uint64 epoch, bytes32 root, bytes32 commitment, uint256 total, Debit[] calldata debits)
        private
    {
        // forge-lint: disable-next-line(unsafe-typecast)
        uint40 finalisesAt = uint40(block.timestamp) + _CHALLENGE_WINDOW;
        _pendingRoot = root;
        bytes32 debitsHash = _hashDebits(debits);
        _pendingDebitsHash = debitsHash;
        _state =
            EpochState({latestEpoch: epoch, pendingFinalisesAt: finalisesAt, pendingTotal: SafeCast.toUint128(total)});
        emit EpochPublished(epoch, root, commitment, total, finalisesAt, debitsHash);
    }

    /// @dev Takes each debit from its brand's budget (and reserve); returns their sum.
    function _takeDebits(Debit[] calldata debits) private returns (uint256 total) {
        uint256 n = debits.length;
        for (uint256 i; i < n; ++i) {
            // Read as raw words (the compiler's per-field decoding cost ~1,500 gas per brand) and
            // validated here as the ABI decoder would: nothing above 160 / 96 bits passes.
            address brand;
            uint256 fromReserve;
            uint256 fromBudget;
            bool dirty;
            assembly ("memory-safe") {
                let at := add(debits.offset, mul(i, 0x60))
                let b := calldataload(at)
                fromReserve := calldataload(add(at, 0x20))
                fromBudget := calldataload(add(at, 0x40))
                dirty := or(shr(160, b), or(shr(96, fromReserve), shr(96, fromBudget)))
                brand := b
            }
            if (dirty) revert DebitOutOfRange(i);
            // One SLOAD and one SSTORE per brand: the Budget slot read and written as one word
            // (`budget` in the low 128 bits, `reserved` in the high 128, as Solidity packs it).
            uint256 slot;
            uint256 word;
            assembly ("memory-safe") {
                mstore(0x00, brand)
                mstore(0x20, _budgets.slot)
                slot := keccak256(0x00, 0x40)
                word := sload(slot)
            }
            uint256 budget = word & type(uint128).max;
            uint256 reserved = word >> 128;
            if (fromReserve > reserved) revert InsufficientReserve(brand, reserved, fromReserve);
            // Cannot underflow: reserved <= budget always holds; both parts are checked before
            // they are taken. Cannot overflow: n sums of two amounts below 2^96 each.
            unchecked {
                if (fromBudget > budget - reserved) revert InsufficientBudget(brand, budget - reserved, fromBudget);
                uint256 amount = fromReserve + fromBudget;
                word = (budget - amount) | ((reserved - fromReserve) << 128);
                total += amount;
            }
            assembly ("memory-safe") {
                sstore(slot, word)
            }
        }
    }

    /// @dev Checks and records an epoch's expiry returns and holds claims until it is finalised.
    /// `finalised` is what this publication's finalisation of the previous epoch just allocated
    /// (still in the vault until the end of `publishEpoch`).
    function _holdForExpiry(Credit[] calldata expiryReturns, uint256 claimsSnapshot, uint256 finalised) private {
        uint256 count = _claimCount;
        if (claimsSnapshot != count) revert ClaimsMovedSinceSnapshot(claimsSnapshot, count);
        uint256 returned = 0;
        uint256 n = expiryReturns.length;
        for (uint256 i; i < n; ++i) {
            Credit calldata c = expiryReturns[i];
            if (c.amount == 0) revert ZeroAmount();
            if (!_REGISTRY.isBrand(c.brand)) revert NotARegisteredBrand(c.brand);
            returned += c.amount;
            _pendingReturns.push(c);
        }
        uint256 unclaimed = IERC20(address(_TOKEN)).balanceOf(address(this)) + finalised;
        if (returned > unclaimed) revert ReturnsExceedUnclaimed(unclaimed, returned);
        _heldRoot = _root;
        _root = bytes32(0);
    }

    // ----------------------------------------------------------------------------------------
    // Claims
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IRewardDistributor
    function claim(address account, uint256 cumulativeAmount, bytes32 salt, bytes32[] calldata proof)
        external
        returns (uint256 amount)
    {
        amount = _settle(account, cumulativeAmount, salt, proof);
        if (amount == 0) revert NothingToClaim(account, cumulativeAmount, _claimed[account]);
        IERC20(address(_TOKEN)).safeTransfer(account, amount);
    }

    /// @inheritdoc IRewardDistributor
    function claimMany(
        address[] calldata accounts,
        uint256[] calldata cumulativeAmounts,
        bytes32[] calldata salts,
        bytes32[][] calldata proofs
    ) external returns (uint256 total) {
        uint256 n = accounts.length;
        if (cumulativeAmounts.length != n) revert LengthMismatch(n, cumulativeAmounts.length);
        if (salts.length != n) revert LengthMismatch(n, salts.length);
        if (proofs.length != n) revert LengthMismatch(n, proofs.length);
        for (uint256 i; i < n; ++i) {
            address account = accounts[i];
            // A zero address cannot be paid (ERC-20 refuses it); skipping keeps the batch alive.
            if (account == address(0)) continue;
            uint256 amount = _settle(account, cumulativeAmounts[i], salts[i], proofs[i]);
            if (amount == 0) continue;
            // Cannot overflow: the sum is bounded by this contract's token balance.
            unchecked {
                total += amount;
            }
            IERC20(address(_TOKEN)).safeTransfer(account, amount);
        }
    }

    /// @inheritdoc IRewardDistributor
    function sweep(address token_, address to) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (token_ == address(_TOKEN)) revert CannotSweepCash();
        if (to == address(0)) revert ZeroAddress();
        uint256 here = IERC20(token_).balanceOf(address(this));
        uint256 inVault = IERC20(token_).balanceOf(address(_VAULT));
        emit Swept(token_, to, here + inVault);
        if (here != 0) IERC20(token_).safeTransfer(to, here);
        if (inVault != 0) _VAULT.release(token_, to, inVault);
    }

    /// @notice Stops funding, deposits, publication, finalisation and claims.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
        _parkedRoot = _root;
        _root = bytes32(0);
    }

    /// @notice Lifts a pause.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
        _root = _parkedRoot;
        _parkedRoot = bytes32(0);
    }

    // ----------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IRewardDistributor
    function token() external view returns (address) {
        return address(_TOKEN);
    }

    /// @inheritdoc IRewardDistributor
    function vault() external view returns (address) {
        return address(_VAULT);
    }

    /// @inheritdoc IRewardDistributor
    function registry() external view returns (address) {
        return address(_REGISTRY);
    }

    /// @inheritdoc IRewardDistributor
    function challengeWindow() external view returns (uint40) {
        return _CHALLENGE_WINDOW;
    }

    /// @inheritdoc IRewardDistributor
    function claimableRoot() external view returns (bytes32) {
        return paused() ? _parkedRoot : _root;
    }

    /// @inheritdoc IRewardDistributor
    function claimableEpoch() external view returns (uint64) {
        EpochState memory s = _state;
        return s.pendingFinalisesAt != 0 ? s.latestEpoch - 1 : s.latestEpoch;
    }

    /// @inheritdoc IRewardDistributor
    function latestEpoch() external view returns (uint64) {
        return _state.latestEpoch;
    }

    /// @inheritdoc IRewardDistributor
    function pendingEpoch() external view returns (PendingEpoch memory p) {
        EpochState memory s = _state;
        if (s.pendingFinalisesAt != 0) {
            p = PendingEpoch({
                epoch: s.latestEpoch,
                root: _pendingRoot,
                finalisesAt: s.pendingFinalisesAt,
                total: s.pendingTotal,
                debitsHash: _pendingDebitsHash
            });
        }
    }

    /// @inheritdoc IRewardDistributor
    function claimed(address account) external view returns (uint256) {
        return _claimed[account];
    }

    /// @inheritdoc IRewardDistributor
    function budgetOf(address brand) external view returns (uint256) {
        return _budgets[brand].budget;
    }

    /// @inheritdoc IRewardDistributor
    function reservedOf(address brand) external view returns (uint256) {
        return _budgets[brand].reserved;
    }

    /// @inheritdoc IRewardDistributor
    function availableOf(address brand) external view returns (uint256) {
        Budget storage b = _budgets[brand];
        return b.budget - b.reserved;
    }

    /// @inheritdoc IRewardDistributor
    function totalAllocated() external view returns (uint256) {
        return _totalAllocated;
    }

    /// @inheritdoc IRewardDistributor
    function totalFunded() external view returns (uint256) {
        return _totalFunded;
    }

    /// @inheritdoc IRewardDistributor
    function totalReturned() external view returns (uint256) {
        return _totalReturned;
    }

    /// @inheritdoc IRewardDistributor
    function claimCount() external view returns (uint256) {
        return _claimCount;
    }

    /// @inheritdoc IRewardDistributor
    function pendingReturns() external view returns (Credit[] memory) {
        return _pendingReturns;
    }

    // ----------------------------------------------------------------------------------------
    // Internal
    // ----------------------------------------------------------------------------------------

    function _credit(address brand, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        if (!_REGISTRY.isBrand(brand)) revert NotARegisteredBrand(brand);
        Budget storage b = _budgets[brand];
        b.budget = SafeCast.toUint128(uint256(b.budget) + amount);
    }

    function _refund(address brand) private returns (uint256 amount) {
        Budget storage b = _budgets[brand];
        amount = b.budget - b.reserved;
        if (amount == 0) return 0;
        // Cannot underflow: amount = budget - reserved.
        unchecked {
            b.budget -= uint128(amount);
        }
        emit RetiredBudgetReturned(brand, amount);
        _VAULT.release(address(_TOKEN), brand, amount);
    }

    /// @dev Makes the pending root claimable; updates `s` in memory (the caller writes it back and
    /// then moves the returned total out of the vault, after every state change).
    function _finalize(EpochState memory s) private returns (uint256 total) {
        bytes32 root = _pendingRoot;
        total = s.pendingTotal;
        _root = root;
        _totalAllocated = SafeCast.toUint128(uint256(_totalAllocated) + total);
        s.pendingFinalisesAt = 0;
        s.pendingTotal = 0;
        emit EpochFinalized(s.latestEpoch, root, total);
        uint256 n = _pendingReturns.length;
        if (n == 0) return total;
        // The held claims resume under the new root; the expired CASH goes back to the budgets.
        _heldRoot = bytes32(0);
        uint256 returned = 0;
        for (uint256 i; i < n; ++i) {
            Credit storage c = _pendingReturns[i];
            (address brand, uint256 amount) = (c.brand, c.amount);
            Budget storage b = _budgets[brand];
            b.budget = SafeCast.toUint128(uint256(b.budget) + amount);
            returned += amount;
            emit ExpiryReturned(s.latestEpoch, brand, amount);
        }
        delete _pendingReturns;
        _totalReturned += returned;
        IERC20(address(_TOKEN)).safeTransfer(address(_VAULT), returned);
    }

    /// @dev keccak256 of the debits' calldata words (three per debit), which equals
    /// `keccak256(abi.encodePacked(...))` of each debit's three fields as 32-byte words, without
    /// re-encoding the array.
    function _hashDebits(Debit[] calldata debits) private pure returns (bytes32 h) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let size := mul(debits.length, 0x60)
            calldatacopy(ptr, debits.offset, size)
            h := keccak256(ptr, size)
        }
    }

    /// @dev Verifies the proof, marks the account's claimed total and returns what is still owed
    /// (0 if nothing). The token transfer is left to the caller (checks-effects-interactions).
    function _settle(address account, uint256 cumulativeAmount, bytes32 salt, bytes32[] calldata proof)
        private
        returns (uint256 amount)
    {
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount, salt))));
        if (MerkleProof.processProofCalldata(proof, leaf) != _root) {
            // Off the hot path: while paused the root slot is zero, so every proof lands here.
            if (paused()) revert EnforcedPause();
            if (_pendingReturns.length != 0) {
                EpochState memory s = _state;
                revert ClaimsHeldForExpiry(s.latestEpoch, s.pendingFinalisesAt);
            }
            revert InvalidProof(account, cumulativeAmount);
        }
        uint256 already = _claimed[account];
        if (cumulativeAmount <= already) return 0;
        // Cannot underflow: cumulativeAmount > already.
        unchecked {
            amount = cumulativeAmount - already;
        }
        _claimed[account] = cumulativeAmount;
        // Cannot overflow: one per paid claim.
        unchecked {
            ++_claimCount;
        }
        emit Claimed(account, amount, cumulativeAmount);
    }
}

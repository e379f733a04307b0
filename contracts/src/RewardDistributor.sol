// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {BudgetVault} from "./BudgetVault.sol";
import {IRewardDistributor} from "./interfaces/IRewardDistributor.sol";

/// @title RewardDistributor
/// @notice Brands' budgets and per-epoch settlement of rewards by cumulative Merkle claims.
/// Publishing costs the same whatever the number of customers: one root per epoch.
/// @dev Pausing stops publication and deposits only. Claims stay open on purpose: they pay only
/// what an already-published root allocated out of this contract's own balance, and a pause
/// could not outrun a claim sent in the block after a bad root anyway.
contract RewardDistributor is IRewardDistributor, AccessControl, Pausable {
    using SafeERC20 for IERC20;

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    uint256 private constant _AMOUNT_BITS = 96;
    uint256 private constant _AMOUNT_MASK = (1 << _AMOUNT_BITS) - 1;

    IERC20 private immutable _TOKEN;
    BudgetVault private immutable _VAULT;

    bytes32 private _currentRoot;
    bytes32 private _previousRoot;
    // Packed: publishing writes both in one slot.
    uint128 private _totalAllocated;
    uint64 private _currentEpoch;

    mapping(address account => uint256) private _claimed;
    mapping(address brand => uint256) private _budgets;

    constructor(address token_, address admin) {
        if (token_ == address(0) || admin == address(0)) revert ZeroAddress();
        _TOKEN = IERC20(token_);
        _VAULT = new BudgetVault(IERC20(token_));
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
    }

    // ----------------------------------------------------------------------------------------
    // Budgets
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IRewardDistributor
    function deposit(address brand, uint256 amount) external whenNotPaused {
        if (brand == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        _budgets[brand] += amount;
        emit BudgetDeposited(brand, msg.sender, amount);
        _TOKEN.safeTransferFrom(msg.sender, address(_VAULT), amount);
    }

    /// @inheritdoc IRewardDistributor
    function withdraw(uint256 amount, address to) external {
        if (to == address(0)) revert ZeroAddress();
        if (to == address(this) || to == address(_VAULT)) revert InvalidRecipient(to);
        if (amount == 0) revert ZeroAmount();
        uint256 available = _budgets[msg.sender];
        if (amount > available) revert InsufficientBudget(msg.sender, available, amount);
        // Cannot underflow: checked against the budget just above.
        unchecked {
            _budgets[msg.sender] = available - amount;
        }
        emit BudgetWithdrawn(msg.sender, to, amount);
        _VAULT.release(to, amount);
    }

    // ----------------------------------------------------------------------------------------
    // Epochs
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IRewardDistributor
    function publishEpoch(uint64 epoch, bytes32 root, bytes32 commitment, uint256[] calldata debits)
        external
        onlyRole(OPERATOR_ROLE)
        whenNotPaused
    {
        uint64 expected = _currentEpoch + 1;
        if (epoch != expected) revert EpochOutOfOrder(expected, epoch);
        if (root == bytes32(0)) revert ZeroRoot();

        uint256 total = 0;
        uint256 n = debits.length;
        for (uint256 i; i < n; ++i) {
            uint256 debit = debits[i];
            address brand = address(uint160(debit >> _AMOUNT_BITS));
            uint256 amount = debit & _AMOUNT_MASK;
            uint256 available = _budgets[brand];
            if (amount > available) revert InsufficientBudget(brand, available, amount);
            // Cannot underflow: checked above. Cannot overflow: n amounts below 2^96 each.
            unchecked {
                _budgets[brand] = available - amount;
                total += amount;
            }
        }

        _previousRoot = _currentRoot;
        _currentRoot = root;
        _currentEpoch = epoch;
        // SafeCast: the allocated total must fit in 128 bits (far above any token supply).
        _totalAllocated = SafeCast.toUint128(uint256(_totalAllocated) + total);
        emit EpochPublished(epoch, root, commitment, total, debits);
        if (total != 0) _VAULT.release(address(this), total);
    }

    // ----------------------------------------------------------------------------------------
    // Claims
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IRewardDistributor
    function claim(address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        external
        returns (uint256 amount)
    {
        amount = _settle(account, cumulativeAmount, proof);
        if (amount == 0) revert NothingToClaim(account, cumulativeAmount, _claimed[account]);
        _TOKEN.safeTransfer(account, amount);
    }

    /// @inheritdoc IRewardDistributor
    function claimMany(address[] calldata accounts, uint256[] calldata cumulativeAmounts, bytes32[][] calldata proofs)
        external
        returns (uint256 total)
    {
        uint256 n = accounts.length;
        if (cumulativeAmounts.length != n) revert LengthMismatch(n, cumulativeAmounts.length);
        if (proofs.length != n) revert LengthMismatch(n, proofs.length);
        for (uint256 i; i < n; ++i) {
            uint256 amount = _settle(accounts[i], cumulativeAmounts[i], proofs[i]);
            if (amount == 0) continue;
            // Cannot overflow: the sum is bounded by this contract's token balance.
            unchecked {
                total += amount;
            }
            _TOKEN.safeTransfer(accounts[i], amount);
        }
    }

    /// @notice Stops publication and deposits (claims and withdrawals stay open).
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Lifts a pause.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
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
    function currentRoot() external view returns (bytes32) {
        return _currentRoot;
    }

    /// @inheritdoc IRewardDistributor
    function previousRoot() external view returns (bytes32) {
        return _previousRoot;
    }

    /// @inheritdoc IRewardDistributor
    function currentEpoch() external view returns (uint64) {
        return _currentEpoch;
    }

    /// @inheritdoc IRewardDistributor
    function claimed(address account) external view returns (uint256) {
        return _claimed[account];
    }

    /// @inheritdoc IRewardDistributor
    function budgetOf(address brand) external view returns (uint256) {
        return _budgets[brand];
    }

    /// @inheritdoc IRewardDistributor
    function totalAllocated() external view returns (uint256) {
        return _totalAllocated;
    }

    // ----------------------------------------------------------------------------------------
    // Internal
    // ----------------------------------------------------------------------------------------

    /// @dev Verifies the proof, marks the account's claimed total and returns what is still owed
    /// (0 if nothing). The token transfer is left to the caller (checks-effects-interactions).
    function _settle(address account, uint256 cumulativeAmount, bytes32[] calldata proof)
        private
        returns (uint256 amount)
    {
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, cumulativeAmount))));
        bytes32 computed = MerkleProof.processProofCalldata(proof, leaf);
        // The previous root stays valid so a claim built just before a publication still lands;
        // cumulative amounts only grow, so paying by the older root never overpays.
        if (computed != _currentRoot && computed != _previousRoot) {
            revert InvalidProof(account, cumulativeAmount);
        }
        uint256 already = _claimed[account];
        if (cumulativeAmount <= already) return 0;
        // Cannot underflow: cumulativeAmount > already.
        unchecked {
            amount = cumulativeAmount - already;
        }
        _claimed[account] = cumulativeAmount;
        emit Claimed(account, amount, cumulativeAmount);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {CashbackToken} from "../../src/CashbackToken.sol";
import {RewardDistributor} from "../../src/RewardDistributor.sol";
import {Debits} from "../utils/Debits.sol";
import {MerkleBuilder} from "../utils/MerkleBuilder.sol";

/// @title DistributorHandler
/// @notice Drives RewardDistributor with bounded actions over a fixed set of brands and customers
/// for the invariant suite, keeping ghost totals of what went in and out.
/// @dev Holds MINTER_ROLE on the token (to fund brands), and OPERATOR_ROLE and PAUSER_ROLE on the
/// distributor (to publish and to pause). Every epoch's tree has one leaf per customer, in
/// `_customers` order, with the customer's cumulative amount; cumulative amounts only grow, and
/// the brands' debits add up to exactly the epoch's increase, so the distributor is never asked
/// to pay what was not allocated. Deposits and publications wait while the distributor is paused
/// (they would revert); claims and withdrawals go on.
contract DistributorHandler is CommonBase, StdCheats, StdUtils {
    uint256 private constant BRANDS = 3;
    uint256 private constant CUSTOMERS = 6;
    uint256 private constant MAX_DEPOSIT = 1e24;
    // Far below a debit's 96-bit amount (about 7.9e28).
    uint256 private constant MAX_EPOCH_INCREASE = 1e24;
    uint256 private constant MAX_BATCH = 8;

    RewardDistributor public immutable distributor;
    CashbackToken public immutable token;

    address[] private _brands;
    address[] private _customers;
    address private _sponsor;
    address private _treasury;
    address private _relayer;

    // Cumulative amounts of the current and previous epochs' trees, in `_customers` order.
    uint256[] private _currentAmounts;
    uint256[] private _previousAmounts;

    uint256 public ghost_deposited;
    uint256 public ghost_withdrawn;
    uint256 public ghost_allocated;
    uint256 public ghost_claimed;
    /// @notice Each customer's cumulative amount in the latest epoch.
    mapping(address account => uint256) public ghost_cumulative;
    /// @notice What each customer actually received, measured on the token.
    mapping(address account => uint256) public ghost_paid;
    /// @notice Payments after which an account had received more than its latest cumulative.
    uint256 public ghost_overpayments;

    mapping(bytes32 action => uint256) public calls;

    constructor(RewardDistributor distributor_, CashbackToken token_) {
        distributor = distributor_;
        token = token_;
        for (uint256 i; i < BRANDS; ++i) {
            _brands.push(makeAddr(string.concat("brand", vm.toString(i))));
        }
        for (uint256 i; i < CUSTOMERS; ++i) {
            _customers.push(makeAddr(string.concat("customer", vm.toString(i))));
        }
        _sponsor = makeAddr("sponsor");
        _treasury = makeAddr("treasury");
        _relayer = makeAddr("relayer");
    }

    // ----------------------------------------------------------------------------------------
    // Actions
    // ----------------------------------------------------------------------------------------

    /// @notice A brand (or a sponsor on its behalf) tops up the brand's budget.
    function deposit(uint256 brandSeed, uint256 amount, bool bySponsor) external {
        if (distributor.paused()) {
            ++calls["deposit (paused)"];
            return;
        }
        address brand = _brands[brandSeed % BRANDS];
        address from = bySponsor ? _sponsor : brand;
        amount = _bound(amount, 1, MAX_DEPOSIT);
        token.mint(from, amount);

        vm.startPrank(from);
        token.approve(address(distributor), amount);
        distributor.deposit(brand, amount);
        vm.stopPrank();

        ghost_deposited += amount;
        ++calls["deposit"];
    }

    /// @notice A brand withdraws part of its unspent budget.
    function withdraw(uint256 brandSeed, uint256 amount) external {
        address brand = _brands[brandSeed % BRANDS];
        uint256 budget = distributor.budgetOf(brand);
        if (budget == 0) return;
        amount = _bound(amount, 1, budget);

        vm.prank(brand);
        distributor.withdraw(amount, _treasury);

        ghost_withdrawn += amount;
        ++calls["withdraw"];
    }

    /// @notice Publishes the next epoch: raises customers' cumulative amounts by a random split of
    /// an increase the brands' budgets can pay, and debits the brands by amounts adding up to it.
    function publishEpoch(uint256 seed, uint256 increase) external {
        if (distributor.paused()) {
            ++calls["publishEpoch (paused)"];
            return;
        }
        uint256 available;
        for (uint256 i; i < BRANDS; ++i) {
            available += distributor.budgetOf(_brands[i]);
        }
        increase = _bound(increase, 0, available < MAX_EPOCH_INCREASE ? available : MAX_EPOCH_INCREASE);

        uint256[] memory amounts = _splitAmongCustomers(seed, increase);
        uint256[] memory debits = Debits.pack(_brands, _debitBrands(seed, increase));

        bytes32 root = MerkleBuilder.root(_customers, amounts);
        uint64 epoch = distributor.currentEpoch() + 1;
        distributor.publishEpoch(epoch, root, keccak256(abi.encode("records", epoch)), debits);

        _previousAmounts = _currentAmounts;
        _currentAmounts = amounts;
        for (uint256 i; i < CUSTOMERS; ++i) {
            ghost_cumulative[_customers[i]] = amounts[i];
        }
        ghost_allocated += increase;
        ++calls["publishEpoch"];
    }

    /// @notice A customer (or a relayer) claims by the current or the previous root.
    function claim(uint256 customerSeed, bool usePrevious, bool byRelayer) external {
        if (_currentAmounts.length == 0) return;
        uint256 index = customerSeed % CUSTOMERS;
        address account = _customers[index];
        uint256[] memory amounts = usePrevious && _previousAmounts.length != 0 ? _previousAmounts : _currentAmounts;
        uint256 cumulative = amounts[index];
        if (cumulative <= distributor.claimed(account)) {
            ++calls["claim (nothing owed)"];
            return;
        }
        (, bytes32[] memory proof) = MerkleBuilder.build(_customers, amounts, index);

        uint256 balanceBefore = token.balanceOf(account);
        vm.prank(byRelayer ? _relayer : account);
        distributor.claim(account, cumulative, proof);
        _recordPayment(account, token.balanceOf(account) - balanceBefore);
        ++calls["claim"];
    }

    /// @notice A relayer claims for a random batch of customers, each by a random one of the two
    /// live roots; the batch may repeat accounts and hold accounts with nothing left to claim.
    function claimMany(uint256 seed, uint256 size) external {
        if (_currentAmounts.length == 0) return;
        size = _bound(size, 1, MAX_BATCH);
        bytes32[][] memory current = MerkleBuilder.levels(MerkleBuilder.leaves(_customers, _currentAmounts));
        bool hasPrevious = _previousAmounts.length != 0;
        bytes32[][] memory previous =
            hasPrevious ? MerkleBuilder.levels(MerkleBuilder.leaves(_customers, _previousAmounts)) : current;

        address[] memory accounts = new address[](size);
        uint256[] memory cumulatives = new uint256[](size);
        bytes32[][] memory proofs = new bytes32[][](size);
        for (uint256 k; k < size; ++k) {
            uint256 draw = uint256(keccak256(abi.encode(seed, k)));
            uint256 index = draw % CUSTOMERS;
            bool byPrevious = hasPrevious && (draw >> 128) % 2 == 1;
            accounts[k] = _customers[index];
            cumulatives[k] = byPrevious ? _previousAmounts[index] : _currentAmounts[index];
            proofs[k] = MerkleBuilder.proofOf(byPrevious ? previous : current, index);
        }

        uint256[] memory balancesBefore = new uint256[](CUSTOMERS);
        for (uint256 i; i < CUSTOMERS; ++i) {
            balancesBefore[i] = token.balanceOf(_customers[i]);
        }
        vm.prank(_relayer);
        distributor.claimMany(accounts, cumulatives, proofs);
        for (uint256 i; i < CUSTOMERS; ++i) {
            _recordPayment(_customers[i], token.balanceOf(_customers[i]) - balancesBefore[i]);
        }
        ++calls["claimMany"];
    }

    /// @notice The pauser pauses or unpauses the distributor.
    function togglePause() external {
        if (distributor.paused()) {
            distributor.unpause();
            ++calls["unpause"];
        } else {
            distributor.pause();
            ++calls["pause"];
        }
    }

    // ----------------------------------------------------------------------------------------
    // Views for the invariant suite
    // ----------------------------------------------------------------------------------------

    function brands() external view returns (address[] memory) {
        return _brands;
    }

    function customers() external view returns (address[] memory) {
        return _customers;
    }

    // ----------------------------------------------------------------------------------------
    // Internal
    // ----------------------------------------------------------------------------------------

    function _recordPayment(address account, uint256 amount) private {
        if (amount == 0) return;
        ghost_claimed += amount;
        ghost_paid[account] += amount;
        if (ghost_paid[account] > ghost_cumulative[account]) ++ghost_overpayments;
    }

    /// @dev The new cumulative amounts: the current ones plus random shares of `increase` (some
    /// customers get nothing; whatever is left goes to one random customer).
    function _splitAmongCustomers(uint256 seed, uint256 increase) private view returns (uint256[] memory amounts) {
        amounts = new uint256[](CUSTOMERS);
        uint256 remaining = increase;
        for (uint256 i; i < CUSTOMERS; ++i) {
            uint256 draw = uint256(keccak256(abi.encode(seed, "share", i)));
            uint256 share = draw % 3 == 0 ? 0 : (draw >> 8) % (remaining + 1);
            remaining -= share;
            amounts[i] = (_currentAmounts.length == 0 ? 0 : _currentAmounts[i]) + share;
        }
        amounts[seed % CUSTOMERS] += remaining;
    }

    /// @dev Per-brand debits adding up to `increase`: a random part of each budget first, then
    /// the rest taken greedily. The caller bounded `increase` by the sum of the budgets.
    function _debitBrands(uint256 seed, uint256 increase) private view returns (uint256[] memory debits) {
        debits = new uint256[](BRANDS);
        uint256[] memory budgets = new uint256[](BRANDS);
        uint256 remaining = increase;
        for (uint256 i; i < BRANDS; ++i) {
            budgets[i] = distributor.budgetOf(_brands[i]);
            uint256 cap = budgets[i] < remaining ? budgets[i] : remaining;
            debits[i] = uint256(keccak256(abi.encode(seed, "debit", i))) % (cap + 1);
            remaining -= debits[i];
        }
        for (uint256 i; i < BRANDS && remaining != 0; ++i) {
            uint256 room = budgets[i] - debits[i];
            uint256 take = room < remaining ? room : remaining;
            debits[i] += take;
            remaining -= take;
        }
    }
}

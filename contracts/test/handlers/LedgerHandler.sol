// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CommonBase} from "forge-std/Base.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {CashbackToken} from "../../src/CashbackToken.sol";
import {ConsentRegistry} from "../../src/ConsentRegistry.sol";
import {RewardDistributor} from "../../src/RewardDistributor.sol";
import {IConsentRegistry} from "../../src/interfaces/IConsentRegistry.sol";
import {IRewardDistributor} from "../../src/interfaces/IRewardDistributor.sol";
import {ConsentSigner} from "../utils/ConsentSigner.sol";
import {MerkleBuilder} from "../utils/MerkleBuilder.sol";

/// @notice Drives registry and distributor together with bounded actions by a few customers and
/// brands, each role from its own key, and keeps ghost totals for the invariants.
/// @dev Some published roots are greedy (they promise one customer more than the epoch debited);
/// the auditor vetoes some roots, not all, so greedy roots also get finalised and claimed against.
contract LedgerHandler is CommonBase, StdUtils, ConsentSigner {
    uint8 internal constant PURPOSE = 1;
    uint64 internal constant CATS = 3;
    uint256 internal constant N_CUSTOMERS = 4;
    uint256 internal constant N_BRANDS = 2;

    struct Roles {
        address operator;
        address recorder;
        address funder;
        address auditor;
    }

    struct Tree {
        address[] accounts;
        uint256[] amounts;
        bytes32[] salts;
        IRewardDistributor.Debit[] debits;
    }

    ConsentRegistry internal immutable registry;
    RewardDistributor internal immutable distributor;
    CashbackToken internal immutable cash;
    Roles internal roles;

    address[N_CUSTOMERS] public customers;
    uint256[N_CUSTOMERS] internal keys;
    address[N_BRANDS] public brands;

    // Consents: how the one in force was made, for the revoke property.
    mapping(address customer => mapping(address brand => bool)) public ghost_inForceBySig;
    mapping(address customer => mapping(address brand => uint40)) public ghost_signedAt;
    mapping(address customer => mapping(address brand => uint256)) public ghost_grantSeq;
    mapping(address customer => mapping(address brand => uint256)) public ghost_revokeSeq;
    uint256 internal _seq;
    uint256 internal _nonce = 1;

    // Money.
    uint256 public ghost_funded;
    uint256 public ghost_withdrawn;
    uint256 public ghost_claimed;
    // How often the interesting refusals happened (for the smoke test and the call summary).
    uint256 public ghost_sigGrantsRefused;
    uint256 public ghost_claimsRefused;
    uint256 public ghost_vetoes;
    uint256 public ghost_recorded;
    uint256[N_CUSTOMERS] internal _cumulative; // honest cumulative per customer

    // Roots: the tree behind each published root, and what was claimed while each was claimable.
    mapping(bytes32 root => Tree) internal _trees;
    bytes32[] public roots; // every root that became claimable
    mapping(bytes32 root => uint256) public ghost_allocatedAt; // totalAllocated when it became claimable
    mapping(bytes32 root => uint256) public ghost_claimedBefore; // ghost_claimed then
    mapping(bytes32 root => uint256) public ghost_claimedUnder;
    bytes32 internal _pendingRoot;
    uint256 internal _rootNonce;

    constructor(ConsentRegistry registry_, RewardDistributor distributor_, Roles memory roles_) {
        registry = registry_;
        distributor = distributor_;
        cash = CashbackToken(distributor_.token());
        roles = roles_;
        for (uint256 i; i < N_CUSTOMERS; ++i) {
            keys[i] = uint256(keccak256(abi.encode("customer", i)));
            customers[i] = vm.addr(keys[i]);
        }
        for (uint256 i; i < N_BRANDS; ++i) {
            brands[i] = address(uint160(uint256(keccak256(abi.encode("brand", i)))));
            vm.prank(roles.operator);
            registry.registerBrand(brands[i]);
            vm.prank(brands[i]);
            registry.setAccessLimits(IConsentRegistry.AccessLimits({allowance: type(uint96).max, maxPrice: 1e6}));
        }
    }

    // ---------------------------------------------------------------- consents

    function grantDirect(uint256 c, uint256 b, uint96 price) external {
        (address customer, address brand) = (customers[c % N_CUSTOMERS], brands[b % N_BRANDS]);
        vm.prank(customer);
        registry.grant(_terms(customer, brand, uint96(bound(price, 0, 2e6))));
        ghost_inForceBySig[customer][brand] = false;
        ghost_grantSeq[customer][brand] = ++_seq;
    }

    /// @dev A signed grant made up to a day ago (maybe before a revoke since), relayed now.
    function grantBySig(uint256 c, uint256 b, uint96 price, uint256 ago) external {
        uint256 k = c % N_CUSTOMERS;
        (address customer, address brand) = (customers[k], brands[b % N_BRANDS]);
        // forge-lint: disable-next-line(unsafe-typecast)
        uint40 signedAt = uint40(block.timestamp - bound(ago, 0, 1 days - 1));
        IConsentRegistry.SignatureTiming memory t = IConsentRegistry.SignatureTiming({
            signedAt: signedAt, nonce: _nonce++, deadline: uint256(signedAt) + 1 days
        });
        IConsentRegistry.GrantTerms memory terms = _terms(customer, brand, uint96(bound(price, 0, 2e6)));
        bytes memory sig = _signGrant(registry, keys[k], terms, t);
        try registry.grantBySig(terms, t, sig) {
            ghost_inForceBySig[customer][brand] = true;
            ghost_signedAt[customer][brand] = signedAt;
            ghost_grantSeq[customer][brand] = ++_seq;
        } catch {
            ++ghost_sigGrantsRefused;
        }
    }

    function revoke(uint256 c, uint256 b) external {
        (address customer, address brand) = (customers[c % N_CUSTOMERS], brands[b % N_BRANDS]);
        vm.prank(customer);
        registry.revoke(customer, brand, PURPOSE);
        ghost_revokeSeq[customer][brand] = ++_seq;
    }

    function warp(uint256 dt) external {
        vm.warp(block.timestamp + bound(dt, 1, 2 hours));
    }

    // ---------------------------------------------------------------- budgets and accesses

    function fund(uint256 b, uint256 amount) external {
        amount = bound(amount, 1, 1e7);
        vm.prank(roles.funder);
        distributor.fund(brands[b % N_BRANDS], amount, bytes32(0));
        ghost_funded += amount;
    }

    function withdraw(uint256 b, uint256 amount) external {
        address brand = brands[b % N_BRANDS];
        uint256 available = distributor.availableOf(brand);
        if (available == 0) return;
        amount = bound(amount, 1, available);
        vm.prank(brand);
        distributor.withdraw(amount, brand);
        ghost_withdrawn += amount;
    }

    /// @dev A batch of up to 8 picks among the customers, repeats included.
    function recordAccess(uint256 b, uint256 picks, uint96 maxPrice) external {
        address brand = brands[b % N_BRANDS];
        uint256 n = bound(picks & 0xff, 1, 8);
        address[] memory batch = new address[](n);
        uint96[] memory maxPrices = new uint96[](n);
        for (uint256 i; i < n; ++i) {
            batch[i] = customers[(picks >> (8 + 2 * i)) % N_CUSTOMERS];
            maxPrices[i] = uint96(bound(maxPrice, 0, 2e6));
        }
        vm.prank(roles.recorder);
        ghost_recorded += registry.recordAccess(brand, PURPOSE, CATS, batch, maxPrices, keccak256(abi.encode(picks)));
    }

    // ---------------------------------------------------------------- epochs and claims

    /// @dev Publishes the next epoch: each brand pays part of its reserve and of its unreserved
    /// budget; the customers share the total (honestly), or one customer is promised more (greedy).
    function publish(uint256 shares, bool greedy) external {
        if (distributor.pendingEpoch().epoch != 0) {
            if (block.timestamp < distributor.pendingEpoch().finalisesAt) return;
            _noteFinalised(); // publishEpoch finalises the ended one first
        }
        IRewardDistributor.Debit[] memory debits = new IRewardDistributor.Debit[](N_BRANDS);
        uint256 total;
        for (uint256 i; i < N_BRANDS; ++i) {
            uint256 reserved = distributor.reservedOf(brands[i]);
            uint256 available = distributor.availableOf(brands[i]);
            uint96 fromReserve = uint96(bound(shares >> (16 * i), 0, reserved));
            uint96 fromBudget = uint96(bound(shares >> (16 * i + 8), 0, available / 4));
            debits[i] = IRewardDistributor.Debit(brands[i], fromReserve, fromBudget);
            total += uint256(fromReserve) + fromBudget;
        }
        bytes32 root = _buildTree(total, greedy, debits);
        uint64 epoch = distributor.latestEpoch() + 1;
        vm.prank(roles.operator);
        distributor.publishEpoch(epoch, root, bytes32(0), debits, new IRewardDistributor.Credit[](0), 0);
        _pendingRoot = root;
    }

    function veto() external {
        IRewardDistributor.PendingEpoch memory p = distributor.pendingEpoch();
        if (p.epoch == 0 || block.timestamp >= p.finalisesAt) return;
        vm.prank(roles.auditor);
        distributor.vetoEpoch(p.epoch, _trees[p.root].debits);
        ++ghost_vetoes;
        // The honest cumulative amounts promised by a vetoed root are taken back.
        uint256[] storage previous = _previous[p.root];
        for (uint256 i; i < N_CUSTOMERS; ++i) {
            _cumulative[i] = previous[i];
        }
        _pendingRoot = bytes32(0);
    }

    function finalize() external {
        IRewardDistributor.PendingEpoch memory p = distributor.pendingEpoch();
        if (p.epoch == 0 || block.timestamp < p.finalisesAt) return;
        _noteFinalised();
        distributor.finalizeEpoch();
    }

    function claim(uint256 c) external {
        bytes32 root = distributor.claimableRoot();
        if (root == bytes32(0)) return;
        Tree storage tr = _trees[root];
        uint256 k = c % N_CUSTOMERS;
        (, bytes32[] memory proof) = MerkleBuilder.build(tr.accounts, tr.amounts, tr.salts, k);
        uint256 before = cash.balanceOf(customers[k]);
        try distributor.claim(customers[k], tr.amounts[k], tr.salts[k], proof) returns (uint256 paid) {
            ghost_claimed += paid;
            ghost_claimedUnder[root] += paid;
            assert(cash.balanceOf(customers[k]) == before + paid);
        } catch {
            ++ghost_claimsRefused;
        }
    }

    // ---------------------------------------------------------------- views for the invariants

    function rootCount() external view returns (uint256) {
        return roots.length;
    }

    function brandAt(uint256 i) external view returns (address) {
        return brands[i];
    }

    function customerAt(uint256 i) external view returns (address) {
        return customers[i];
    }

    // ---------------------------------------------------------------- internals

    function _noteFinalised() internal {
        bytes32 root = _pendingRoot;
        uint256 total = distributor.pendingEpoch().total;
        roots.push(root);
        ghost_allocatedAt[root] = distributor.totalAllocated() + total;
        ghost_claimedBefore[root] = ghost_claimed;
        _pendingRoot = bytes32(0);
    }

    function _buildTree(uint256 total, bool greedy, IRewardDistributor.Debit[] memory debits)
        internal
        returns (bytes32 root)
    {
        address[] memory accounts = new address[](N_CUSTOMERS);
        uint256[] memory amounts = new uint256[](N_CUSTOMERS);
        uint256[] memory previous = new uint256[](N_CUSTOMERS);
        uint256 share = total / N_CUSTOMERS;
        for (uint256 i; i < N_CUSTOMERS; ++i) {
            accounts[i] = customers[i];
            previous[i] = _cumulative[i];
            // The remainder goes to customer 0 so the leaves sum to exactly what was debited.
            _cumulative[i] += i == 0 ? total - share * (N_CUSTOMERS - 1) : share;
            amounts[i] = _cumulative[i];
        }
        // A greedy root promises customer 1 the whole epoch again on top (more than was debited).
        if (greedy) amounts[1] += total + 1;
        bytes32[] memory salts = MerkleBuilder.saltsFor(N_CUSTOMERS, keccak256(abi.encode(++_rootNonce)));
        root = MerkleBuilder.root(accounts, amounts, salts);
        Tree storage tr = _trees[root];
        tr.accounts = accounts;
        tr.amounts = amounts;
        tr.salts = salts;
        delete tr.debits;
        for (uint256 i; i < debits.length; ++i) {
            tr.debits.push(debits[i]);
        }
        _previous[root] = previous;
    }

    mapping(bytes32 root => uint256[]) internal _previous;

    function _terms(address customer, address brand, uint96 price)
        internal
        pure
        returns (IConsentRegistry.GrantTerms memory)
    {
        return IConsentRegistry.GrantTerms({
            customer: customer,
            brand: brand,
            purpose: PURPOSE,
            categories: CATS,
            expiresAt: 0,
            price: price,
            receiptHash: bytes32(0),
            noticeHash: bytes32(0)
        });
    }
}

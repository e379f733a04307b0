// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {CommonBase} from "forge-std/Base.sol";
import {StdCheats} from "forge-std/StdCheats.sol";
import {StdUtils} from "forge-std/StdUtils.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ConsentRegistry} from "../../src/ConsentRegistry.sol";
import {IConsentRegistry} from "../../src/interfaces/IConsentRegistry.sol";
import {ConsentSigner} from "../utils/ConsentSigner.sol";
import {MockERC1271Wallet} from "../utils/MockERC1271Wallet.sol";

/// @notice Drives ConsentRegistry with bounded customer, brand and operator actions for the
/// invariant suite, and keeps a ghost model of what every consent should be.
/// @dev Each action predicts its outcome (success or the exact custom error) from the ghost model
/// before calling, updates the model only on a predicted and actual success, and counts every
/// disagreement, so the invariants can compare the registry to an independent account of events.
contract ConsentHandler is CommonBase, StdCheats, StdUtils, ConsentSigner {
    /// @notice One customer's part in a successfully recorded access, with the ghost consent then.
    struct AccessRecord {
        address customer;
        address brand;
        uint8 purpose;
        uint64 categories;
        uint64 grantedCategories;
        uint40 expiresAt;
        uint40 timestamp;
        uint96 price;
    }

    /// @dev Three EOAs and one ERC-1271 wallet; four data categories; two purposes.
    uint256 public constant EOA_CUSTOMERS = 3;
    uint64 public constant ALL_CATEGORIES = 0xF;
    uint8 public constant PURPOSES = 2;
    /// @dev The last brand is registered and deregistered by the operator during a run.
    uint256 public constant BRANDS = 3;
    uint40 internal constant START = 1_700_000_000;

    /// @dev Keys of `ghost_successes`.
    bytes32 public constant GRANT = "grant";
    bytes32 public constant GRANT_BY_SIG = "grantBySig";
    bytes32 public constant NARROW = "narrow";
    bytes32 public constant NARROW_BY_SIG = "narrowBySig";
    bytes32 public constant REVOKE = "revoke";
    bytes32 public constant REVOKE_BY_SIG = "revokeBySig";
    bytes32 public constant RECORD_ACCESS = "recordAccess";

    ConsentRegistry public immutable registry;
    address public immutable operator;

    address[] public actors;
    /// @dev The key that signs for each actor: its own, or for the wallet its owner's.
    uint256[] internal _keys;
    address[] public brands;
    uint40 public currentTime = START;

    mapping(address customer => mapping(address brand => mapping(uint8 purpose => IConsentRegistry.Consent))) internal
        _ghostConsents;
    mapping(address customer => mapping(address brand => mapping(uint8 purpose => bool))) public ghost_revoked;
    mapping(address customer => uint256) public ghost_changes;
    mapping(address customer => uint256) internal _lastNonce;
    mapping(address brand => bool) public ghost_brandRegistered;
    bool public ghost_paused;

    AccessRecord[] internal _accesses;
    uint256 public ghost_accessBatches;
    uint256 public ghost_uncoveredAccesses;
    uint256 public ghost_mispricedAccesses;
    uint256 public ghost_unexpectedOutcomes;
    uint256 public ghost_nonceDecreases;
    mapping(bytes32 action => uint256) public ghost_successes;

    modifier useTime() {
        vm.warp(currentTime);
        _;
        _checkNonces();
    }

    constructor(ConsentRegistry registry_, address operator_, address[] memory brands_) {
        registry = registry_;
        operator = operator_;
        brands = brands_;
        for (uint256 i; i < brands_.length; ++i) {
            ghost_brandRegistered[brands_[i]] = registry_.isBrand(brands_[i]);
        }
        for (uint256 i; i < EOA_CUSTOMERS; ++i) {
            (address customer, uint256 key) = makeAddrAndKey(string.concat("customer", vm.toString(i)));
            actors.push(customer);
            _keys.push(key);
        }
        (address walletOwner, uint256 walletOwnerKey) = makeAddrAndKey("walletOwner");
        actors.push(address(new MockERC1271Wallet(walletOwner)));
        _keys.push(walletOwnerKey);
    }

    // ----------------------------------------------------------------------------------------
    // Actions
    // ----------------------------------------------------------------------------------------

    /// @notice A customer grants (or replaces) a consent, directly or by a relayed signature.
    function grant(uint256 keySeed, uint256 categories, uint256 lifetime, uint256 price, bool bySig) external useTime {
        (uint256 actor, address brand, uint8 purpose) = _key(keySeed);
        IConsentRegistry.GrantTerms memory terms = IConsentRegistry.GrantTerms({
            customer: actors[actor],
            brand: brand,
            purpose: purpose,
            categories: uint64(_bound(categories, 0, ALL_CATEGORIES)),
            // One in four is open-ended; a lifetime of 1 lands on now, which is already past.
            expiresAt: lifetime % 4 == 0 ? 0 : _expiryIn(_bound(lifetime, 1, 120 days)),
            price: uint96(_bound(price, 0, 1e24)),
            receiptHash: keccak256(abi.encode("receipt", price)),
            noticeHash: keccak256(abi.encode("notice", lifetime))
        });
        bytes4 expected = _predictGrant(terms);

        bool ok;
        bytes memory reason;
        if (bySig) {
            uint256 deadline = uint256(currentTime) + 1 hours;
            bytes memory sig = _signGrant(registry, _keys[actor], terms, deadline);
            try registry.grantBySig(terms, deadline, sig) {
                ok = true;
            } catch (bytes memory r) {
                reason = r;
            }
        } else {
            vm.prank(terms.customer);
            try registry.grant(terms) {
                ok = true;
            } catch (bytes memory r) {
                reason = r;
            }
        }
        if (_agrees(expected, ok, reason) && ok) {
            _ghostConsents[terms.customer][terms.brand][terms.purpose] = IConsentRegistry.Consent({
                categories: terms.categories,
                grantedAt: currentTime,
                expiresAt: terms.expiresAt,
                price: terms.price,
                receiptHash: terms.receiptHash,
                noticeHash: terms.noticeHash
            });
            ghost_revoked[terms.customer][terms.brand][terms.purpose] = false;
            ++ghost_changes[terms.customer];
            ++ghost_successes[bySig ? GRANT_BY_SIG : GRANT];
        }
    }

    /// @notice A customer narrows a consent; mostly an existing one and a true narrowing.
    function narrow(uint256 keySeed, uint256 categoriesSeed, uint256 expirySeed, bool bySig) external useTime {
        (uint256 actor, address brand, uint8 purpose) = _liveKey(keySeed);
        Narrowing memory n =
            Narrowing({customer: actors[actor], brand: brand, purpose: purpose, categories: 0, expiresAt: 0});
        IConsentRegistry.Consent memory current = _ghostConsents[n.customer][n.brand][n.purpose];
        n.categories = uint64(_bound(categoriesSeed, 0, ALL_CATEGORIES));
        // Three in four tries keep to the granted categories.
        if (categoriesSeed % 4 != 0) n.categories &= current.categories;
        // Keep the expiry, drop it (a narrowing only of an open-ended consent), bring it forward,
        // or draw any.
        uint256 expiryChoice = expirySeed % 4;
        if (expiryChoice == 0) {
            n.expiresAt = current.expiresAt;
        } else if (expiryChoice == 2) {
            uint256 latest = current.expiresAt > currentTime ? current.expiresAt - currentTime + 1 : 60 days;
            n.expiresAt = _expiryIn(_bound(expirySeed, 1, latest));
        } else if (expiryChoice == 3) {
            n.expiresAt = _expiryIn(_bound(expirySeed, 0, 120 days));
        }
        bytes4 expected = _predictNarrow(n, current);

        bool ok;
        bytes memory reason;
        if (bySig) {
            uint256 deadline = uint256(currentTime) + 1 hours;
            bytes memory sig = _signNarrow(registry, _keys[actor], n, deadline);
            try registry.narrowBySig(n.customer, n.brand, n.purpose, n.categories, n.expiresAt, deadline, sig) {
                ok = true;
            } catch (bytes memory r) {
                reason = r;
            }
        } else {
            vm.prank(n.customer);
            try registry.narrow(n.customer, n.brand, n.purpose, n.categories, n.expiresAt) {
                ok = true;
            } catch (bytes memory r) {
                reason = r;
            }
        }
        if (_agrees(expected, ok, reason) && ok) {
            IConsentRegistry.Consent storage c = _ghostConsents[n.customer][n.brand][n.purpose];
            c.categories = n.categories;
            c.expiresAt = n.expiresAt;
            ++ghost_changes[n.customer];
            ++ghost_successes[bySig ? NARROW_BY_SIG : NARROW];
        }
    }

    /// @notice A customer revokes a consent, directly or by a relayed signature.
    function revoke(uint256 keySeed, bool bySig) external useTime {
        (uint256 actor, address brand, uint8 purpose) = _liveKey(keySeed);
        address customer = actors[actor];
        bytes4 expected = _ghostConsents[customer][brand][purpose].categories == 0
            ? IConsentRegistry.ConsentNotFound.selector
            : bytes4(0);

        bool ok;
        bytes memory reason;
        if (bySig) {
            uint256 deadline = uint256(currentTime) + 1 hours;
            bytes memory sig = _signRevoke(registry, _keys[actor], customer, brand, purpose, deadline);
            try registry.revokeBySig(customer, brand, purpose, deadline, sig) {
                ok = true;
            } catch (bytes memory r) {
                reason = r;
            }
        } else {
            vm.prank(customer);
            try registry.revoke(customer, brand, purpose) {
                ok = true;
            } catch (bytes memory r) {
                reason = r;
            }
        }
        if (_agrees(expected, ok, reason) && ok) {
            delete _ghostConsents[customer][brand][purpose];
            ghost_revoked[customer][brand][purpose] = true;
            ++ghost_changes[customer];
            ++ghost_successes[bySig ? REVOKE_BY_SIG : REVOKE];
        }
    }

    /// @notice A brand (or the relayer for it) records an access to a subset of the customers.
    /// @dev The brand and purpose are mostly those of an existing consent, and the categories
    /// mostly within it, so that batches also succeed.
    /// @param coveredOnly Keep only the customers the ghost model says are covered; otherwise the
    /// subset is taken as drawn.
    function recordAccess(uint256 keySeed, uint256 categories, uint256 subset, bool coveredOnly, bool byRelayer)
        external
        useTime
    {
        (uint256 actor, address brand, uint8 purpose) = _coveringKey(keySeed);
        uint64 cats = _drawCategories(categories, _ghostConsents[actors[actor]][brand][purpose].categories);
        // The drawn consent's customer is always asked for: bit `actor` of the subset.
        // forge-lint: disable-next-line(incorrect-shift)
        address[] memory customers = _drawCustomers(brand, purpose, cats, subset | (1 << actor), coveredOnly);
        bytes4 expected = _predictAccess(brand, purpose, cats, customers);

        vm.prank(byRelayer ? operator : brand);
        try registry.recordAccess(brand, purpose, cats, customers, keccak256(abi.encode(subset))) returns (
            uint256 total
        ) {
            _agrees(expected, true, "");
            _recordAccess(brand, purpose, cats, customers, total);
        } catch (bytes memory reason) {
            _agrees(expected, false, reason);
        }
    }

    /// @notice Time passes, so consents reach their expiry.
    function warp(uint256 seconds_) external useTime {
        currentTime += uint40(_bound(seconds_, 0, 5 days));
        vm.warp(currentTime);
        vm.roll(block.number + 1);
    }

    /// @notice The operator retires the last brand (once: a retired brand cannot come back).
    function retireBrand() external useTime {
        address brand = brands[BRANDS - 1];
        if (!ghost_brandRegistered[brand]) return;
        vm.prank(operator);
        registry.deregisterBrand(brand);
        ghost_brandRegistered[brand] = false;
    }

    /// @notice The pauser pauses (one time in eight) or unpauses the registry.
    function setPaused(uint256 seed) external useTime {
        // Hashed so that the fuzzer's favourite inputs (0, small numbers) do not all pause.
        bool pause = uint256(keccak256(abi.encode(seed))) % 8 == 0;
        if (pause == ghost_paused) return;
        vm.prank(operator);
        if (pause) registry.pause();
        else registry.unpause();
        ghost_paused = pause;
    }

    // ----------------------------------------------------------------------------------------
    // Ghost views
    // ----------------------------------------------------------------------------------------

    function actorCount() external view returns (uint256) {
        return actors.length;
    }

    function ghostConsent(address customer, address brand, uint8 purpose)
        external
        view
        returns (IConsentRegistry.Consent memory)
    {
        return _ghostConsents[customer][brand][purpose];
    }

    function accessCount() external view returns (uint256) {
        return _accesses.length;
    }

    function accessAt(uint256 i) external view returns (AccessRecord memory) {
        return _accesses[i];
    }

    // ----------------------------------------------------------------------------------------
    // Model
    // ----------------------------------------------------------------------------------------

    /// @dev The (customer, brand, purpose) numbered `seed` modulo their count.
    function _key(uint256 seed) internal view returns (uint256 actor, address brand, uint8 purpose) {
        uint256 i = seed % (actors.length * BRANDS * PURPOSES);
        actor = i % actors.length;
        brand = brands[i / actors.length % BRANDS];
        // forge-lint: disable-next-line(unsafe-typecast)
        purpose = uint8(i / (actors.length * BRANDS)); // below PURPOSES, as i is below the key count
    }

    /// @dev Three in four tries, the first key from `seed` on whose ghost consent is not empty
    /// (if any); otherwise the key `seed` names.
    function _liveKey(uint256 seed) internal view returns (uint256 actor, address brand, uint8 purpose) {
        (actor, brand, purpose) = _key(seed);
        if (_oneInFour(seed)) return (actor, brand, purpose);
        uint256 keys = actors.length * BRANDS * PURPOSES;
        for (uint256 k; k < keys; ++k) {
            (uint256 a, address b, uint8 p) = _key(seed % keys + k);
            if (_ghostConsents[actors[a]][b][p].categories != 0) return (a, b, p);
        }
    }

    /// @dev Three in four tries, the first key from `seed` on whose ghost consent covers something
    /// now (if any); otherwise the key `seed` names.
    function _coveringKey(uint256 seed) internal view returns (uint256 actor, address brand, uint8 purpose) {
        (actor, brand, purpose) = _key(seed);
        if (_oneInFour(seed)) return (actor, brand, purpose);
        uint256 keys = actors.length * BRANDS * PURPOSES;
        for (uint256 k; k < keys; ++k) {
            (uint256 a, address b, uint8 p) = _key(seed % keys + k);
            if (_ghostCovers(actors[a], b, p, _ghostConsents[actors[a]][b][p].categories)) return (a, b, p);
        }
    }

    /// @dev A choice independent of `seed % n`, which the key is drawn from.
    function _oneInFour(uint256 seed) internal pure returns (bool) {
        return uint256(keccak256(abi.encode(seed))) % 4 == 0;
    }

    function _expiryIn(uint256 lifetime) internal view returns (uint40) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return lifetime == 0 ? 0 : uint40(currentTime + lifetime - 1); // lifetimes are bounded to days
    }

    /// @dev Whether the ghost model says `brand` may use `categories` of `customer` for `purpose` now.
    function _ghostCovers(address customer, address brand, uint8 purpose, uint64 categories)
        internal
        view
        returns (bool)
    {
        IConsentRegistry.Consent memory c = _ghostConsents[customer][brand][purpose];
        return categories != 0 && ghost_brandRegistered[brand] && c.categories & categories == categories
            && (c.expiresAt == 0 || c.expiresAt > currentTime);
    }

    function _predictGrant(IConsentRegistry.GrantTerms memory terms) internal view returns (bytes4) {
        if (ghost_paused) return Pausable.EnforcedPause.selector;
        if (!ghost_brandRegistered[terms.brand]) return IConsentRegistry.BrandNotRegistered.selector;
        if (terms.categories == 0) return IConsentRegistry.EmptyCategories.selector;
        if (terms.expiresAt != 0 && terms.expiresAt <= currentTime) return IConsentRegistry.ExpiryInPast.selector;
        return bytes4(0);
    }

    function _predictNarrow(Narrowing memory n, IConsentRegistry.Consent memory current)
        internal
        view
        returns (bytes4)
    {
        if (current.categories == 0) return IConsentRegistry.ConsentNotFound.selector;
        if (n.categories == 0) return IConsentRegistry.EmptyCategories.selector;
        bool addsCategories = n.categories & ~current.categories != 0;
        bool extends = current.expiresAt != 0 && (n.expiresAt == 0 || n.expiresAt > current.expiresAt);
        if (addsCategories || extends) return IConsentRegistry.NotANarrowing.selector;
        if (n.expiresAt != 0 && n.expiresAt <= currentTime) return IConsentRegistry.ExpiryInPast.selector;
        return bytes4(0);
    }

    function _predictAccess(address brand, uint8 purpose, uint64 categories, address[] memory customers)
        internal
        view
        returns (bytes4)
    {
        if (ghost_paused) return Pausable.EnforcedPause.selector;
        if (!ghost_brandRegistered[brand]) return IConsentRegistry.BrandNotRegistered.selector;
        if (categories == 0) return IConsentRegistry.EmptyCategories.selector;
        if (customers.length == 0) return IConsentRegistry.EmptyAccessBatch.selector;
        for (uint256 i; i < customers.length; ++i) {
            if (!_ghostCovers(customers[i], brand, purpose, categories)) {
                return IConsentRegistry.ConsentNotCovering.selector;
            }
        }
        return bytes4(0);
    }

    /// @dev One try in four asks for any categories, one for the drawn consent's lowest category
    /// alone (which other customers' consents are likelier to hold too), two for categories it holds.
    function _drawCategories(uint256 seed, uint64 granted) internal pure returns (uint64 categories) {
        categories = uint64(_bound(seed, 0, ALL_CATEGORIES));
        uint256 choice = seed % 4;
        if (choice == 1) {
            // The lowest set bit (zero for zero): two's complement cannot overflow when unchecked.
            unchecked {
                categories = granted & (~granted + 1);
            }
        } else if (choice > 1) {
            categories &= granted;
            if (categories == 0) categories = granted;
        }
    }

    function _drawCustomers(address brand, uint8 purpose, uint64 categories, uint256 subset, bool coveredOnly)
        internal
        view
        returns (address[] memory customers)
    {
        uint256 n = actors.length;
        customers = new address[](n + 1);
        uint256 count;
        for (uint256 i; i < n; ++i) {
            if (subset >> i & 1 == 0) continue;
            if (coveredOnly && !_ghostCovers(actors[i], brand, purpose, categories)) continue;
            customers[count++] = actors[i];
        }
        // Sometimes name a customer twice: the brand pays for each listed access.
        if (count != 0 && subset >> n & 1 == 1) customers[count++] = customers[0];
        assembly ("memory-safe") {
            mstore(customers, count)
        }
    }

    /// @dev Checks a successful access against the ghost model and keeps it in the ghost log.
    function _recordAccess(address brand, uint8 purpose, uint64 categories, address[] memory customers, uint256 total)
        internal
    {
        uint256 expectedTotal;
        for (uint256 i; i < customers.length; ++i) {
            IConsentRegistry.Consent memory c = _ghostConsents[customers[i]][brand][purpose];
            if (!_ghostCovers(customers[i], brand, purpose, categories)) ++ghost_uncoveredAccesses;
            expectedTotal += c.price;
            _accesses.push(
                AccessRecord({
                    customer: customers[i],
                    brand: brand,
                    purpose: purpose,
                    categories: categories,
                    grantedCategories: c.categories,
                    expiresAt: c.expiresAt,
                    timestamp: currentTime,
                    price: c.price
                })
            );
        }
        if (total != expectedTotal) ++ghost_mispricedAccesses;
        ++ghost_accessBatches;
        ++ghost_successes[RECORD_ACCESS];
    }

    /// @dev Whether the call's outcome is the predicted one (`expected == 0` means success);
    /// counts a disagreement.
    function _agrees(bytes4 expected, bool ok, bytes memory reason) internal returns (bool agrees) {
        // forge-lint: disable-next-line(unsafe-typecast)
        agrees = ok ? expected == bytes4(0) : (expected != bytes4(0) && bytes4(reason) == expected); // the selector
        if (!agrees) ++ghost_unexpectedOutcomes;
    }

    function _checkNonces() internal {
        for (uint256 i; i < actors.length; ++i) {
            uint256 nonce = registry.nonces(actors[i]);
            if (nonce < _lastNonce[actors[i]]) ++ghost_nonceDecreases;
            _lastNonce[actors[i]] = nonce;
        }
    }
}

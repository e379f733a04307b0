// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {ConsentRegistry} from "../src/ConsentRegistry.sol";
import {IConsentRegistry} from "../src/interfaces/IConsentRegistry.sol";
import {ConsentHandler} from "./handlers/ConsentHandler.sol";

/// @notice Invariants of ConsentRegistry under random grants, narrowings, revocations, expiries,
/// brand (de)registrations, pauses and access recordings by a fixed set of customers and brands.
contract ConsentRegistryInvariantTest is Test {
    ConsentRegistry internal registry;
    ConsentHandler internal handler;

    function setUp() public {
        address admin = makeAddr("admin");
        registry = new ConsentRegistry(admin);
        address[] memory brands = new address[](3);
        brands[0] = makeAddr("brandA");
        brands[1] = makeAddr("brandB");
        brands[2] = makeAddr("brandC");
        vm.startPrank(admin);
        for (uint256 i; i < brands.length; ++i) {
            registry.registerBrand(brands[i]);
        }
        vm.stopPrank();

        handler = new ConsentHandler(registry, admin, brands);
        vm.warp(handler.currentTime());
        // Start every run from a populated registry: each customer has consented to each brand for
        // each purpose, with varied categories, expiries (a quarter open-ended) and prices, half
        // directly and half by signature. Going through the handler keeps its ghost model in step.
        uint256 keys = handler.actorCount() * handler.BRANDS() * handler.PURPOSES();
        for (uint256 k; k < keys; ++k) {
            handler.grant(k, k * 7 + 3, k * 11 + 2, k * 1e15, k % 2 == 0);
        }

        bytes4[] memory selectors = new bytes4[](7);
        selectors[0] = ConsentHandler.grant.selector;
        selectors[1] = ConsentHandler.narrow.selector;
        selectors[2] = ConsentHandler.revoke.selector;
        selectors[3] = ConsentHandler.recordAccess.selector;
        selectors[4] = ConsentHandler.warp.selector;
        selectors[5] = ConsentHandler.retireBrand.selector;
        selectors[6] = ConsentHandler.setPaused.selector;
        targetSelector(StdInvariant.FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// @notice (1) Every customer in every recorded access had a covering consent at that moment.
    function invariant_noAccessWithoutCoveringConsent() public view {
        assertEq(handler.ghost_uncoveredAccesses(), 0);
    }

    /// @notice (2) A revoked consent is empty and covers no category at all.
    function invariant_revokedConsentCoversNothing() public view {
        (uint256 actors, uint256 brands, uint8 purposes) = _dimensions();
        uint64 allCategories = handler.ALL_CATEGORIES();
        for (uint256 a; a < actors; ++a) {
            address customer = handler.actors(a);
            for (uint256 b; b < brands; ++b) {
                address brand = handler.brands(b);
                for (uint8 p; p < purposes; ++p) {
                    if (!handler.ghost_revoked(customer, brand, p)) continue;
                    assertEq(registry.consentOf(customer, brand, p).categories, 0, "revoked consent not empty");
                    // Every mask over the categories in use, plus the highest ones.
                    for (uint64 mask = 1; mask <= allCategories; ++mask) {
                        _assertNotCovering(customer, brand, p, mask);
                    }
                    _assertNotCovering(customer, brand, p, uint64(1) << 63);
                    _assertNotCovering(customer, brand, p, type(uint64).max);
                }
            }
        }
    }

    /// @notice (3) The registry stores exactly the consents of the ghost model.
    function invariant_storedConsentsMatchGhost() public view {
        (uint256 actors, uint256 brands, uint8 purposes) = _dimensions();
        for (uint256 a; a < actors; ++a) {
            address customer = handler.actors(a);
            for (uint256 b; b < brands; ++b) {
                address brand = handler.brands(b);
                for (uint8 p; p < purposes; ++p) {
                    IConsentRegistry.Consent memory stored = registry.consentOf(customer, brand, p);
                    IConsentRegistry.Consent memory ghost = handler.ghostConsent(customer, brand, p);
                    // Compare whole structs first; field by field only to name a difference.
                    if (keccak256(abi.encode(stored)) == keccak256(abi.encode(ghost))) continue;
                    assertEq(stored.categories, ghost.categories, "categories");
                    assertEq(stored.grantedAt, ghost.grantedAt, "grantedAt");
                    assertEq(stored.expiresAt, ghost.expiresAt, "expiresAt");
                    assertEq(stored.price, ghost.price, "price");
                    assertEq(stored.receiptHash, ghost.receiptHash, "receiptHash");
                    assertEq(stored.noticeHash, ghost.noticeHash, "noticeHash");
                }
            }
        }
    }

    /// @notice (4) Nonces never go down and count each customer's successful changes exactly.
    function invariant_noncesCountSuccessfulChanges() public view {
        assertEq(handler.ghost_nonceDecreases(), 0, "nonce decreased");
        uint256 actors = handler.actorCount();
        for (uint256 a; a < actors; ++a) {
            address customer = handler.actors(a);
            assertEq(registry.nonces(customer), handler.ghost_changes(customer));
        }
    }

    /// @notice Each recorded access cost the brand exactly the sum of the customers' prices.
    function invariant_accessTotalIsSumOfPrices() public view {
        assertEq(handler.ghost_mispricedAccesses(), 0);
    }

    /// @notice Every call succeeded or failed, with the exact custom error, as the model predicted.
    function invariant_outcomesMatchModel() public view {
        assertEq(handler.ghost_unexpectedOutcomes(), 0);
    }

    function _dimensions() internal view returns (uint256 actors, uint256 brands, uint8 purposes) {
        return (handler.actorCount(), handler.BRANDS(), handler.PURPOSES());
    }

    /// @dev Asserts through the cheatcode only on failure: thousands of masks are tried per run.
    function _assertNotCovering(address customer, address brand, uint8 purpose, uint64 mask) internal view {
        bool covered = registry.covers(customer, brand, purpose, mask);
        if (covered) assertFalse(covered, "revoked consent covers");
    }
}

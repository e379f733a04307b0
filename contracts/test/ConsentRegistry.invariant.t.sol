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

        bytes4[] memory selectors = new bytes4[](7);
        selectors[0] = ConsentHandler.grant.selector;
        selectors[1] = ConsentHandler.narrow.selector;
        selectors[2] = ConsentHandler.revoke.selector;
        selectors[3] = ConsentHandler.recordAccess.selector;
        selectors[4] = ConsentHandler.warp.selector;
        selectors[5] = ConsentHandler.toggleBrand.selector;
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
        uint256 actors = handler.actorCount();
        for (uint256 a; a < actors; ++a) {
            address customer = handler.actors(a);
            for (uint256 b; b < handler.BRANDS(); ++b) {
                address brand = handler.brands(b);
                for (uint8 p; p < handler.PURPOSES(); ++p) {
                    if (!handler.ghost_revoked(customer, brand, p)) continue;
                    assertEq(registry.consentOf(customer, brand, p).categories, 0);
                    for (uint64 mask = 1; mask <= handler.ALL_CATEGORIES(); ++mask) {
                        assertFalse(registry.covers(customer, brand, p, mask));
                    }
                    assertFalse(registry.covers(customer, brand, p, uint64(1) << 63));
                    assertFalse(registry.covers(customer, brand, p, type(uint64).max));
                }
            }
        }
    }

    /// @notice (3) The registry stores exactly the consents of the ghost model.
    function invariant_storedConsentsMatchGhost() public view {
        uint256 actors = handler.actorCount();
        for (uint256 a; a < actors; ++a) {
            address customer = handler.actors(a);
            for (uint256 b; b < handler.BRANDS(); ++b) {
                address brand = handler.brands(b);
                for (uint8 p; p < handler.PURPOSES(); ++p) {
                    IConsentRegistry.Consent memory stored = registry.consentOf(customer, brand, p);
                    IConsentRegistry.Consent memory ghost = handler.ghostConsent(customer, brand, p);
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
}

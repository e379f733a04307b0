// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ConsentRegistry} from "../src/ConsentRegistry.sol";
import {IConsentRegistry} from "../src/interfaces/IConsentRegistry.sol";
import {Deployment} from "./utils/Deployment.sol";
import {MockERC1271Wallet} from "./utils/MockERC1271Wallet.sol";

/// @notice Unit tests of ConsentRegistry: brands, grants, narrowings, revocations, views, pausing
/// (signature rules: ConsentRegistry.sig.t.sol; accesses: ConsentRegistry.access.t.sol).
contract ConsentRegistryTest is Deployment {
    uint8 internal constant MARKETING = 1;
    uint8 internal constant ANALYTICS = 2;
    uint64 internal constant EMAIL = 1 << 0;
    uint64 internal constant PURCHASES = 1 << 1;
    uint64 internal constant LOCATION = 1 << 2;
    uint96 internal constant PRICE = 25_000;
    uint40 internal constant START = 1_700_000_000;
    uint40 internal constant ONE_YEAR = 365 days;
    bytes32 internal constant RECEIPT = keccak256("receipt-1");
    bytes32 internal constant NOTICE = keccak256("notice-v1");
    bytes32 internal constant REQUEST = keccak256("request-1");

    address internal relayer;
    address internal stranger;
    address internal brand;
    address internal otherBrand;
    address internal alice;
    uint256 internal aliceKey;
    address internal bob;
    uint256 internal bobKey;
    MockERC1271Wallet internal wallet;
    uint256 internal walletOwnerKey;

    function setUp() public {
        vm.warp(START);
        relayer = makeAddr("relayer");
        stranger = makeAddr("stranger");
        brand = makeAddr("brand");
        otherBrand = makeAddr("otherBrand");
        (alice, aliceKey) = makeAddrAndKey("alice");
        (bob, bobKey) = makeAddrAndKey("bob");
        address walletOwner;
        (walletOwner, walletOwnerKey) = makeAddrAndKey("walletOwner");
        wallet = new MockERC1271Wallet(walletOwner);

        _deploy();
        _registerBrand(brand);
    }

    // ----------------------------------------------------------------------------------------
    // Helpers
    // ----------------------------------------------------------------------------------------

    function _terms(address customer, uint64 categories, uint40 expiresAt)
        internal
        view
        returns (IConsentRegistry.GrantTerms memory)
    {
        return IConsentRegistry.GrantTerms({
            customer: customer,
            brand: brand,
            purpose: MARKETING,
            categories: categories,
            expiresAt: expiresAt,
            price: PRICE,
            receiptHash: RECEIPT,
            noticeHash: NOTICE
        });
    }

    function _grant(IConsentRegistry.GrantTerms memory terms) internal {
        vm.prank(terms.customer);
        registry.grant(terms);
    }

    /// @dev Alice consents to EMAIL | PURCHASES for marketing for one year.
    function _grantAlice() internal returns (IConsentRegistry.GrantTerms memory terms) {
        terms = _terms(alice, EMAIL | PURCHASES, START + ONE_YEAR);
        _grant(terms);
    }

    function _one(address a) internal pure returns (address[] memory list) {
        list = new address[](1);
        list[0] = a;
    }

    function _two(address a, address b) internal pure returns (address[] memory list) {
        list = new address[](2);
        list[0] = a;
        list[1] = b;
    }

    /// @dev A signature made now, relayable until `deadline`; its nonce is the deadline itself, so
    /// a test's signing and relaying build the same timing.
    function _tm(uint256 deadline) internal view returns (IConsentRegistry.SignatureTiming memory) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return
            IConsentRegistry.SignatureTiming({signedAt: uint40(block.timestamp), nonce: deadline, deadline: deadline});
    }

    function _pause() internal {
        vm.prank(pauser);
        registry.pause();
    }

    function _narrowing(uint64 categories, uint40 expiresAt) internal view returns (Narrowing memory) {
        return
            Narrowing({customer: alice, brand: brand, purpose: MARKETING, categories: categories, expiresAt: expiresAt});
    }

    function _unauthorized(address account, bytes32 role) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IAccessControl.AccessControlUnauthorizedAccount.selector, account, role);
    }

    // ----------------------------------------------------------------------------------------
    // constructor
    // ----------------------------------------------------------------------------------------

    function test_constructor_EachRoleOnItsOwnKey() public view {
        assertEq(registry.owner(), admin);
        assertEq(registry.defaultAdminDelay(), ADMIN_DELAY);
        assertTrue(registry.hasRole(registry.OPERATOR_ROLE(), operator));
        assertTrue(registry.hasRole(registry.RECORDER_ROLE(), recorder));
        assertTrue(registry.hasRole(registry.PAUSER_ROLE(), pauser));
        assertFalse(registry.hasRole(registry.OPERATOR_ROLE(), admin));
        assertFalse(registry.hasRole(registry.RECORDER_ROLE(), operator));
        assertFalse(registry.paused());
    }

    function test_RevertWhen_ConstructorRoleIsZero() public {
        vm.expectRevert(IConsentRegistry.ZeroAddress.selector);
        new ConsentRegistry(ADMIN_DELAY, admin, operator, address(0), pauser);
    }

    // ----------------------------------------------------------------------------------------
    // registerBrand / deregisterBrand / isBrand
    // ----------------------------------------------------------------------------------------

    function test_registerBrand_RegistersAndEmits() public {
        vm.expectEmit(address(registry));
        emit IConsentRegistry.BrandRegistered(otherBrand);
        vm.prank(operator);
        registry.registerBrand(otherBrand);
        assertTrue(registry.isBrand(otherBrand));
    }

    function test_RevertWhen_RegisterBrandCallerNotOperator() public {
        bytes32 role = registry.OPERATOR_ROLE();
        vm.expectRevert(_unauthorized(stranger, role));
        vm.prank(stranger);
        registry.registerBrand(otherBrand);
    }

    function test_RevertWhen_RegisterBrandZeroAddress() public {
        vm.expectRevert(IConsentRegistry.ZeroAddress.selector);
        vm.prank(operator);
        registry.registerBrand(address(0));
    }

    function test_RevertWhen_RegisterBrandAlreadyRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.BrandAlreadyRegistered.selector, brand));
        vm.prank(operator);
        registry.registerBrand(brand);
    }

    function test_deregisterBrand_DeregistersAndEmits() public {
        vm.expectEmit(address(registry));
        emit IConsentRegistry.BrandDeregistered(brand);
        vm.prank(operator);
        registry.deregisterBrand(brand);
        assertFalse(registry.isBrand(brand));
    }

    function test_RevertWhen_DeregisterBrandCallerNotOperator() public {
        bytes32 role = registry.OPERATOR_ROLE();
        vm.expectRevert(_unauthorized(stranger, role));
        vm.prank(stranger);
        registry.deregisterBrand(brand);
    }

    function test_RevertWhen_DeregisterBrandNotRegistered() public {
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.BrandNotRegistered.selector, otherBrand));
        vm.prank(operator);
        registry.deregisterBrand(otherBrand);
    }

    function test_deregisterBrand_ConsentsStopCovering() public {
        _grantAlice();
        vm.prank(operator);
        registry.deregisterBrand(brand);

        assertFalse(registry.covers(alice, brand, MARKETING, EMAIL));
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.BrandNotRegistered.selector, brand));
        uint96[] memory maxPrices = new uint96[](1);
        vm.prank(brand);
        registry.recordAccess(brand, MARKETING, EMAIL, _one(alice), maxPrices, REQUEST);
    }

    function test_deregisterBrand_CustomerCanStillRevoke() public {
        _grantAlice();
        vm.prank(operator);
        registry.deregisterBrand(brand);

        vm.prank(alice);
        registry.revoke(alice, brand, MARKETING);
        assertEq(registry.consentOf(alice, brand, MARKETING).categories, 0);
    }

    /// @dev A deregistered brand is retired for good, so its earlier consents can never cover again.
    function test_RevertWhen_RegisterRetiredBrand() public {
        _grantAlice();
        vm.startPrank(operator);
        registry.deregisterBrand(brand);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.BrandRetired.selector, brand));
        registry.registerBrand(brand);
        vm.stopPrank();
        assertFalse(registry.isBrand(brand));
        assertFalse(registry.covers(alice, brand, MARKETING, EMAIL));
    }

    function test_RevertWhen_DeregisterRetiredBrand() public {
        vm.startPrank(operator);
        registry.deregisterBrand(brand);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.BrandNotRegistered.selector, brand));
        registry.deregisterBrand(brand);
        vm.stopPrank();
    }

    function test_isBrand_ReflectsRegistration() public view {
        assertTrue(registry.isBrand(brand));
        assertFalse(registry.isBrand(otherBrand));
        assertFalse(registry.isBrand(address(0)));
    }

    // ----------------------------------------------------------------------------------------
    // grant
    // ----------------------------------------------------------------------------------------

    function test_grant_StoresConsentAndEmits() public {
        IConsentRegistry.GrantTerms memory terms = _terms(alice, EMAIL | PURCHASES, START + ONE_YEAR);
        vm.expectEmit(address(registry));
        emit IConsentRegistry.ConsentGranted(
            alice, brand, MARKETING, EMAIL | PURCHASES, START + ONE_YEAR, PRICE, RECEIPT, NOTICE, START, 0
        );
        _grant(terms);

        IConsentRegistry.Consent memory c = registry.consentOf(alice, brand, MARKETING);
        assertEq(c.categories, EMAIL | PURCHASES);
        assertEq(c.grantedAt, START);
        assertEq(c.expiresAt, START + ONE_YEAR);
        assertEq(c.price, PRICE);
        assertEq(c.receiptHash, RECEIPT);
        assertEq(c.noticeHash, NOTICE);
    }

    function test_grant_ReplacesExistingConsent() public {
        _grantAlice();
        vm.warp(START + 1 days);
        IConsentRegistry.GrantTerms memory wider = _terms(alice, EMAIL | PURCHASES | LOCATION, 0);
        wider.price = PRICE * 2;
        wider.noticeHash = keccak256("notice-v2");
        _grant(wider);

        IConsentRegistry.Consent memory c = registry.consentOf(alice, brand, MARKETING);
        assertEq(c.categories, EMAIL | PURCHASES | LOCATION);
        assertEq(c.grantedAt, START + 1 days);
        assertEq(c.expiresAt, 0);
        assertEq(c.price, PRICE * 2);
        assertEq(c.noticeHash, keccak256("notice-v2"));
    }

    function test_grant_KeepsPurposesApart() public {
        _grantAlice();
        assertEq(registry.consentOf(alice, brand, ANALYTICS).categories, 0);
        assertFalse(registry.covers(alice, brand, ANALYTICS, EMAIL));
    }

    function test_grant_WithoutExpiryNeverExpires() public {
        _grant(_terms(alice, EMAIL, 0));
        vm.warp(START + 100 * ONE_YEAR);
        assertTrue(registry.covers(alice, brand, MARKETING, EMAIL));
    }

    function test_grant_ByContractWalletCaller() public {
        _grant(_terms(address(wallet), EMAIL, 0));
        assertTrue(registry.covers(address(wallet), brand, MARKETING, EMAIL));
    }

    function test_RevertWhen_GrantCallerNotCustomer() public {
        IConsentRegistry.GrantTerms memory terms = _terms(alice, EMAIL, 0);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.NotCustomer.selector, bob, alice));
        vm.prank(bob);
        registry.grant(terms);
    }

    function test_RevertWhen_GrantBrandNotRegistered() public {
        IConsentRegistry.GrantTerms memory terms = _terms(alice, EMAIL, 0);
        terms.brand = otherBrand;
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.BrandNotRegistered.selector, otherBrand));
        _grant(terms);
    }

    function test_RevertWhen_GrantCategoriesEmpty() public {
        vm.expectRevert(IConsentRegistry.EmptyCategories.selector);
        _grant(_terms(alice, 0, 0));
    }

    function test_RevertWhen_GrantExpiryIsNow() public {
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ExpiryInPast.selector, START));
        _grant(_terms(alice, EMAIL, START));
    }

    function test_RevertWhen_GrantExpiryInPast() public {
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ExpiryInPast.selector, START - 1));
        _grant(_terms(alice, EMAIL, START - 1));
    }

    function test_RevertWhen_GrantPaused() public {
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        _grant(_terms(alice, EMAIL, 0));
    }

    // ----------------------------------------------------------------------------------------
    // grantBySig
    // ----------------------------------------------------------------------------------------

    function test_grantBySig_StoresConsentAndEmits() public {
        IConsentRegistry.GrantTerms memory terms = _terms(alice, EMAIL | LOCATION, START + ONE_YEAR);
        bytes memory sig = _signGrant(registry, aliceKey, terms, _tm(START + 1 hours));

        vm.expectEmit(address(registry));
        emit IConsentRegistry.ConsentGranted(
            alice, brand, MARKETING, EMAIL | LOCATION, START + ONE_YEAR, PRICE, RECEIPT, NOTICE, START, START + 1 hours
        );
        vm.prank(stranger); // anyone may relay
        registry.grantBySig(terms, _tm(START + 1 hours), sig);

        IConsentRegistry.Consent memory c = registry.consentOf(alice, brand, MARKETING);
        assertEq(c.categories, EMAIL | LOCATION);
        assertEq(c.grantedAt, START);
        assertEq(c.price, PRICE);
    }

    function test_grantBySig_AcceptsDeadlineEqualToNow() public {
        IConsentRegistry.GrantTerms memory terms = _terms(alice, EMAIL, 0);
        registry.grantBySig(terms, _tm(START), _signGrant(registry, aliceKey, terms, _tm(START)));
        assertTrue(registry.covers(alice, brand, MARKETING, EMAIL));
    }

    function test_grantBySig_ContractWalletCustomer() public {
        IConsentRegistry.GrantTerms memory terms = _terms(address(wallet), EMAIL, 0);
        registry.grantBySig(
            terms, _tm(START + 1 hours), _signGrant(registry, walletOwnerKey, terms, _tm(START + 1 hours))
        );
        assertTrue(registry.covers(address(wallet), brand, MARKETING, EMAIL));
    }

    function test_RevertWhen_GrantBySigSignatureExpired() public {
        IConsentRegistry.GrantTerms memory terms = _terms(alice, EMAIL, 0);
        bytes memory sig = _signGrant(registry, aliceKey, terms, _tm(START - 1));
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.SignatureExpired.selector, START - 1));
        registry.grantBySig(terms, _tm(START - 1), sig);
    }

    function test_RevertWhen_GrantBySigSignerNotCustomer() public {
        IConsentRegistry.GrantTerms memory terms = _terms(alice, EMAIL, 0);
        bytes memory sig = _signGrant(registry, bobKey, terms, _tm(START + 1 hours));
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.InvalidSignature.selector, alice));
        registry.grantBySig(terms, _tm(START + 1 hours), sig);
    }

    function test_RevertWhen_GrantBySigSignatureMalformed() public {
        IConsentRegistry.GrantTerms memory terms = _terms(alice, EMAIL, 0);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.InvalidSignature.selector, alice));
        registry.grantBySig(terms, _tm(START + 1 hours), hex"deadbeef");
    }

    function test_RevertWhen_GrantBySigContractWalletSignedByStranger() public {
        IConsentRegistry.GrantTerms memory terms = _terms(address(wallet), EMAIL, 0);
        bytes memory sig = _signGrant(registry, aliceKey, terms, _tm(START + 1 hours));
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.InvalidSignature.selector, address(wallet)));
        registry.grantBySig(terms, _tm(START + 1 hours), sig);
    }

    function test_RevertWhen_GrantBySigBrandNotRegistered() public {
        IConsentRegistry.GrantTerms memory terms = _terms(alice, EMAIL, 0);
        terms.brand = otherBrand;
        bytes memory sig = _signGrant(registry, aliceKey, terms, _tm(START + 1 hours));
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.BrandNotRegistered.selector, otherBrand));
        registry.grantBySig(terms, _tm(START + 1 hours), sig);
    }

    function test_RevertWhen_GrantBySigPaused() public {
        IConsentRegistry.GrantTerms memory terms = _terms(alice, EMAIL, 0);
        bytes memory sig = _signGrant(registry, aliceKey, terms, _tm(START + 1 hours));
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        registry.grantBySig(terms, _tm(START + 1 hours), sig);
    }

    // ----------------------------------------------------------------------------------------
    // narrow
    // ----------------------------------------------------------------------------------------

    function test_narrow_DropsCategoriesAndEmits() public {
        _grantAlice();
        vm.expectEmit(address(registry));
        emit IConsentRegistry.ConsentNarrowed(alice, brand, MARKETING, EMAIL, START + ONE_YEAR, 0);
        vm.prank(alice);
        registry.narrow(alice, brand, MARKETING, EMAIL, START + ONE_YEAR);

        IConsentRegistry.Consent memory c = registry.consentOf(alice, brand, MARKETING);
        assertEq(c.categories, EMAIL);
        assertEq(c.expiresAt, START + ONE_YEAR);
        assertEq(c.grantedAt, START);
        assertEq(c.price, PRICE);
        assertFalse(registry.covers(alice, brand, MARKETING, PURCHASES));
    }

    function test_narrow_BringsExpiryForward() public {
        _grantAlice();
        vm.prank(alice);
        registry.narrow(alice, brand, MARKETING, EMAIL | PURCHASES, START + 1 days);
        assertEq(registry.consentOf(alice, brand, MARKETING).expiresAt, START + 1 days);

        vm.warp(START + 1 days);
        assertFalse(registry.covers(alice, brand, MARKETING, EMAIL));
    }

    function test_narrow_GivesOpenEndedConsentAnExpiry() public {
        _grant(_terms(alice, EMAIL, 0));
        vm.prank(alice);
        registry.narrow(alice, brand, MARKETING, EMAIL, START + 1 days);
        assertEq(registry.consentOf(alice, brand, MARKETING).expiresAt, START + 1 days);
    }

    function test_narrow_WorksWhilePaused() public {
        _grantAlice();
        _pause();
        vm.prank(alice);
        registry.narrow(alice, brand, MARKETING, EMAIL, START + ONE_YEAR);
        assertEq(registry.consentOf(alice, brand, MARKETING).categories, EMAIL);
    }

    function test_RevertWhen_NarrowCallerNotCustomer() public {
        _grantAlice();
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.NotCustomer.selector, brand, alice));
        vm.prank(brand);
        registry.narrow(alice, brand, MARKETING, EMAIL, START + ONE_YEAR);
    }

    function test_RevertWhen_NarrowConsentNotFound() public {
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ConsentNotFound.selector, alice, brand, MARKETING));
        vm.prank(alice);
        registry.narrow(alice, brand, MARKETING, EMAIL, 0);
    }

    function test_RevertWhen_NarrowAddsCategory() public {
        _grantAlice();
        vm.expectRevert(
            abi.encodeWithSelector(
                IConsentRegistry.NotANarrowing.selector,
                EMAIL | PURCHASES,
                EMAIL | LOCATION,
                START + ONE_YEAR,
                START + ONE_YEAR
            )
        );
        vm.prank(alice);
        registry.narrow(alice, brand, MARKETING, EMAIL | LOCATION, START + ONE_YEAR);
    }

    function test_RevertWhen_NarrowExtendsExpiry() public {
        _grantAlice();
        vm.expectRevert(
            abi.encodeWithSelector(
                IConsentRegistry.NotANarrowing.selector,
                EMAIL | PURCHASES,
                EMAIL,
                START + ONE_YEAR,
                START + ONE_YEAR + 1
            )
        );
        vm.prank(alice);
        registry.narrow(alice, brand, MARKETING, EMAIL, START + ONE_YEAR + 1);
    }

    function test_RevertWhen_NarrowRemovesExpiry() public {
        _grantAlice();
        vm.expectRevert(
            abi.encodeWithSelector(
                IConsentRegistry.NotANarrowing.selector, EMAIL | PURCHASES, EMAIL, START + ONE_YEAR, uint40(0)
            )
        );
        vm.prank(alice);
        registry.narrow(alice, brand, MARKETING, EMAIL, 0);
    }

    function test_RevertWhen_NarrowCategoriesEmpty() public {
        _grantAlice();
        vm.expectRevert(IConsentRegistry.EmptyCategories.selector);
        vm.prank(alice);
        registry.narrow(alice, brand, MARKETING, 0, START + ONE_YEAR);
    }

    function test_RevertWhen_NarrowExpiryIsNow() public {
        _grantAlice();
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ExpiryInPast.selector, START));
        vm.prank(alice);
        registry.narrow(alice, brand, MARKETING, EMAIL, START);
    }

    function test_RevertWhen_NarrowRevokedConsent() public {
        _grantAlice();
        vm.startPrank(alice);
        registry.revoke(alice, brand, MARKETING);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.ConsentNotFound.selector, alice, brand, MARKETING));
        registry.narrow(alice, brand, MARKETING, EMAIL, START + 1 days);
        vm.stopPrank();
    }

    // ----------------------------------------------------------------------------------------
    // narrowBySig
    // ----------------------------------------------------------------------------------------

    function test_narrowBySig_NarrowsAndEmits() public {
        _grantAlice();
        Narrowing memory n = _narrowing(PURCHASES, START + 30 days);
        bytes memory sig = _signNarrow(registry, aliceKey, n, _tm(START + 1 hours));

        vm.expectEmit(address(registry));
        emit IConsentRegistry.ConsentNarrowed(alice, brand, MARKETING, PURCHASES, START + 30 days, START + 1 hours);
        vm.prank(stranger);
        registry.narrowBySig(alice, brand, MARKETING, PURCHASES, START + 30 days, _tm(START + 1 hours), sig);

        IConsentRegistry.Consent memory c = registry.consentOf(alice, brand, MARKETING);
        assertEq(c.categories, PURCHASES);
        assertEq(c.expiresAt, START + 30 days);
    }

    function test_narrowBySig_WorksWhilePaused() public {
        _grantAlice();
        bytes memory sig = _signNarrow(registry, aliceKey, _narrowing(EMAIL, START + 30 days), _tm(START + 1 hours));
        _pause();
        registry.narrowBySig(alice, brand, MARKETING, EMAIL, START + 30 days, _tm(START + 1 hours), sig);
        assertEq(registry.consentOf(alice, brand, MARKETING).categories, EMAIL);
    }

    function test_RevertWhen_NarrowBySigSignatureExpired() public {
        _grantAlice();
        bytes memory sig = _signNarrow(registry, aliceKey, _narrowing(EMAIL, START + 30 days), _tm(START - 1));
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.SignatureExpired.selector, START - 1));
        registry.narrowBySig(alice, brand, MARKETING, EMAIL, START + 30 days, _tm(START - 1), sig);
    }

    function test_RevertWhen_NarrowBySigSignerNotCustomer() public {
        _grantAlice();
        bytes memory sig = _signNarrow(registry, bobKey, _narrowing(EMAIL, START + 30 days), _tm(START + 1 hours));
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.InvalidSignature.selector, alice));
        registry.narrowBySig(alice, brand, MARKETING, EMAIL, START + 30 days, _tm(START + 1 hours), sig);
    }

    function test_RevertWhen_NarrowBySigNotANarrowing() public {
        _grantAlice();
        bytes memory sig = _signNarrow(registry, aliceKey, _narrowing(LOCATION, START + 30 days), _tm(START + 1 hours));
        vm.expectRevert(
            abi.encodeWithSelector(
                IConsentRegistry.NotANarrowing.selector, EMAIL | PURCHASES, LOCATION, START + ONE_YEAR, START + 30 days
            )
        );
        registry.narrowBySig(alice, brand, MARKETING, LOCATION, START + 30 days, _tm(START + 1 hours), sig);
    }

    // ----------------------------------------------------------------------------------------
    // revoke
    // ----------------------------------------------------------------------------------------

    function test_revoke_DeletesConsentAndEmits() public {
        _grantAlice();
        vm.expectEmit(address(registry));
        emit IConsentRegistry.ConsentRevoked(alice, brand, MARKETING, START, 0);
        vm.prank(alice);
        registry.revoke(alice, brand, MARKETING);

        IConsentRegistry.Consent memory c = registry.consentOf(alice, brand, MARKETING);
        assertEq(c.categories, 0);
        assertEq(c.grantedAt, 0);
        assertEq(c.expiresAt, 0);
        assertEq(c.price, 0);
        assertEq(c.receiptHash, bytes32(0));
        assertEq(c.noticeHash, bytes32(0));
        assertFalse(registry.covers(alice, brand, MARKETING, EMAIL));
    }

    function test_revoke_WorksWhilePaused() public {
        _grantAlice();
        _pause();
        vm.prank(alice);
        registry.revoke(alice, brand, MARKETING);
        assertEq(registry.consentOf(alice, brand, MARKETING).categories, 0);
    }

    function test_revoke_ExpiredConsent() public {
        _grantAlice();
        vm.warp(START + ONE_YEAR + 1);
        vm.prank(alice);
        registry.revoke(alice, brand, MARKETING);
        assertEq(registry.consentOf(alice, brand, MARKETING).categories, 0);
    }

    function test_RevertWhen_RevokeCallerNotCustomer() public {
        _grantAlice();
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.NotCustomer.selector, operator, alice));
        vm.prank(operator);
        registry.revoke(alice, brand, MARKETING);
    }

    // ----------------------------------------------------------------------------------------
    // revokeBySig
    // ----------------------------------------------------------------------------------------

    function test_revokeBySig_DeletesConsentAndEmits() public {
        _grantAlice();
        bytes memory sig = _signRevoke(registry, aliceKey, alice, brand, MARKETING, _tm(START + 1 hours));
        vm.expectEmit(address(registry));
        emit IConsentRegistry.ConsentRevoked(alice, brand, MARKETING, START, START + 1 hours);
        vm.prank(stranger);
        registry.revokeBySig(alice, brand, MARKETING, _tm(START + 1 hours), sig);
        assertEq(registry.consentOf(alice, brand, MARKETING).categories, 0);
    }

    function test_revokeBySig_WorksWhilePaused() public {
        _grantAlice();
        bytes memory sig = _signRevoke(registry, aliceKey, alice, brand, MARKETING, _tm(START + 1 hours));
        _pause();
        registry.revokeBySig(alice, brand, MARKETING, _tm(START + 1 hours), sig);
        assertEq(registry.consentOf(alice, brand, MARKETING).categories, 0);
    }

    function test_revokeBySig_ContractWalletCustomer() public {
        _grant(_terms(address(wallet), EMAIL, 0));
        bytes memory sig =
            _signRevoke(registry, walletOwnerKey, address(wallet), brand, MARKETING, _tm(START + 1 hours));
        registry.revokeBySig(address(wallet), brand, MARKETING, _tm(START + 1 hours), sig);
        assertEq(registry.consentOf(address(wallet), brand, MARKETING).categories, 0);
    }

    function test_RevertWhen_RevokeBySigSignatureExpired() public {
        _grantAlice();
        bytes memory sig = _signRevoke(registry, aliceKey, alice, brand, MARKETING, _tm(START + 1 hours));
        vm.warp(START + 1 hours + 1);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.SignatureExpired.selector, START + 1 hours));
        registry.revokeBySig(alice, brand, MARKETING, _tm(START + 1 hours), sig);
    }

    function test_RevertWhen_RevokeBySigSignerNotCustomer() public {
        _grantAlice();
        bytes memory sig = _signRevoke(registry, bobKey, alice, brand, MARKETING, _tm(START + 1 hours));
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.InvalidSignature.selector, alice));
        registry.revokeBySig(alice, brand, MARKETING, _tm(START + 1 hours), sig);
    }

    // ----------------------------------------------------------------------------------------
    // recordAccess
    // ----------------------------------------------------------------------------------------

    // ----------------------------------------------------------------------------------------
    // covers / consentOf / nonces
    // ----------------------------------------------------------------------------------------

    function test_covers_TrueForGrantedCategories() public {
        _grantAlice();
        assertTrue(registry.covers(alice, brand, MARKETING, EMAIL));
        assertTrue(registry.covers(alice, brand, MARKETING, PURCHASES));
        assertTrue(registry.covers(alice, brand, MARKETING, EMAIL | PURCHASES));
    }

    function test_covers_FalseForUngrantedCategory() public {
        _grantAlice();
        assertFalse(registry.covers(alice, brand, MARKETING, LOCATION));
        assertFalse(registry.covers(alice, brand, MARKETING, EMAIL | LOCATION));
    }

    function test_covers_FalseForNoCategories() public {
        _grantAlice();
        assertFalse(registry.covers(alice, brand, MARKETING, 0));
    }

    function test_covers_FalseFromExpiry() public {
        _grantAlice();
        vm.warp(START + ONE_YEAR - 1);
        assertTrue(registry.covers(alice, brand, MARKETING, EMAIL));
        vm.warp(START + ONE_YEAR);
        assertFalse(registry.covers(alice, brand, MARKETING, EMAIL));
    }

    function test_covers_FalseForUnregisteredBrand() public view {
        assertFalse(registry.covers(alice, otherBrand, MARKETING, EMAIL));
    }

    function test_consentOf_ZeroWhenNeverGranted() public view {
        IConsentRegistry.Consent memory c = registry.consentOf(alice, brand, MARKETING);
        assertEq(c.categories, 0);
        assertEq(c.grantedAt, 0);
        assertEq(c.expiresAt, 0);
        assertEq(c.price, 0);
        assertEq(c.receiptHash, bytes32(0));
        assertEq(c.noticeHash, bytes32(0));
    }

    function test_consentOf_KeepsExpiredConsent() public {
        _grantAlice();
        vm.warp(START + ONE_YEAR + 1);
        assertEq(registry.consentOf(alice, brand, MARKETING).categories, EMAIL | PURCHASES);
    }

    // ----------------------------------------------------------------------------------------
    // EIP-712 domain and type hashes
    // ----------------------------------------------------------------------------------------

    function test_DOMAIN_SEPARATOR_MatchesEip712Domain() public view {
        assertEq(registry.DOMAIN_SEPARATOR(), _domainSeparator(address(registry), block.chainid));
        (, string memory name, string memory version, uint256 chainId, address verifyingContract,,) =
            registry.eip712Domain();
        assertEq(name, DOMAIN_NAME);
        assertEq(version, DOMAIN_VERSION);
        assertEq(chainId, block.chainid);
        assertEq(verifyingContract, address(registry));
    }

    function test_DOMAIN_SEPARATOR_FollowsChainId() public {
        bytes32 before = registry.DOMAIN_SEPARATOR();
        vm.chainId(block.chainid + 1);
        assertNotEq(registry.DOMAIN_SEPARATOR(), before);
        assertEq(registry.DOMAIN_SEPARATOR(), _domainSeparator(address(registry), block.chainid));
    }

    // ----------------------------------------------------------------------------------------
    // pause / unpause
    // ----------------------------------------------------------------------------------------

    function test_pause_PausesAndEmits() public {
        vm.expectEmit(address(registry));
        emit Pausable.Paused(pauser);
        _pause();
        assertTrue(registry.paused());
    }

    function test_unpause_UnpausesAndEmits() public {
        _pause();
        vm.expectEmit(address(registry));
        emit Pausable.Unpaused(pauser);
        vm.prank(pauser);
        registry.unpause();
        assertFalse(registry.paused());

        _grantAlice();
        assertTrue(registry.covers(alice, brand, MARKETING, EMAIL));
    }

    function test_RevertWhen_PauseCallerNotPauser() public {
        bytes32 role = registry.PAUSER_ROLE();
        vm.expectRevert(_unauthorized(stranger, role));
        vm.prank(stranger);
        registry.pause();
    }

    function test_RevertWhen_UnpauseCallerNotPauser() public {
        _pause();
        bytes32 role = registry.PAUSER_ROLE();
        vm.expectRevert(_unauthorized(stranger, role));
        vm.prank(stranger);
        registry.unpause();
    }

    function test_RevertWhen_PauseAlreadyPaused() public {
        _pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        _pause();
    }

    function test_RevertWhen_UnpauseNotPaused() public {
        vm.expectRevert(Pausable.ExpectedPause.selector);
        vm.prank(pauser);
        registry.unpause();
    }
}

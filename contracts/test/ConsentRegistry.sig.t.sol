// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IConsentRegistry} from "../src/interfaces/IConsentRegistry.sol";
import {Deployment} from "./utils/Deployment.sol";
import {MockERC1271Wallet} from "./utils/MockERC1271Wallet.sol";

/// @notice Signed consent changes: signing times, capped deadlines, unordered nonces,
/// invalidation, and a revoke that no earlier grant can beat (issue 10 item 3).
contract ConsentRegistrySigTest is Deployment {
    uint8 internal constant MARKETING = 1;
    uint64 internal constant EMAIL = 1 << 0;
    uint64 internal constant PURCHASES = 1 << 1;
    uint40 internal constant START = 1_750_000_000;

    address internal brand = makeAddr("brand");
    address internal relayer = makeAddr("relayer");
    address internal alice;
    uint256 internal aliceKey;

    function setUp() public {
        vm.warp(START);
        _deploy();
        _registerBrand(brand);
        (alice, aliceKey) = makeAddrAndKey("alice");
    }

    function _terms(uint64 categories) internal view returns (IConsentRegistry.GrantTerms memory) {
        return IConsentRegistry.GrantTerms({
            customer: alice,
            brand: brand,
            purpose: MARKETING,
            categories: categories,
            expiresAt: 0,
            price: 1,
            receiptHash: keccak256("receipt"),
            noticeHash: keccak256("notice")
        });
    }

    function _grantBySig(IConsentRegistry.GrantTerms memory terms, IConsentRegistry.SignatureTiming memory t) internal {
        bytes memory sig = _signGrant(registry, aliceKey, terms, t);
        vm.prank(relayer);
        registry.grantBySig(terms, t, sig);
    }

    function _revokeBySig(IConsentRegistry.SignatureTiming memory t) internal {
        bytes memory sig = _signRevoke(registry, aliceKey, alice, brand, MARKETING, t);
        vm.prank(relayer);
        registry.revokeBySig(alice, brand, MARKETING, t, sig);
    }

    function test_typeHashesMatchTheSigningHelper() public view {
        assertEq(registry.GRANT_TYPEHASH(), keccak256(bytes(GRANT_TYPE)));
        assertEq(registry.NARROW_TYPEHASH(), keccak256(bytes(NARROW_TYPE)));
        assertEq(registry.REVOKE_TYPEHASH(), keccak256(bytes(REVOKE_TYPE)));
        assertEq(registry.INVALIDATE_TYPEHASH(), keccak256(bytes(INVALIDATE_TYPE)));
        assertEq(registry.ACCESS_LIMITS_TYPEHASH(), keccak256(bytes(ACCESS_LIMITS_TYPE)));
        assertEq(registry.DOMAIN_SEPARATOR(), _domainSeparator(address(registry), block.chainid));
    }

    function test_grantBySig_RelayedGrantIsStoredWithItsSigningTime() public {
        IConsentRegistry.SignatureTiming memory t = _timingAt(START - 60, 7);
        vm.expectEmit(address(registry));
        emit IConsentRegistry.ConsentGranted(
            alice, brand, MARKETING, EMAIL, 0, 1, keccak256("receipt"), keccak256("notice"), START - 60, 7
        );
        _grantBySig(_terms(EMAIL), t);
        assertTrue(registry.covers(alice, brand, MARKETING, EMAIL));
        assertTrue(registry.isNonceUsed(alice, 7));
    }

    // ---- the stale grant of the issue: signed, held back, sent after a revoke ----

    function test_RevertWhen_grantBySig_SignedBeforeALaterRevoke() public {
        _grantBySig(_terms(EMAIL), _timing());
        // Alice signs a wider grant, which someone holds back...
        IConsentRegistry.SignatureTiming memory stale = _timingAt(START + 1, 100);
        vm.warp(START + 1);
        bytes memory sig = _signGrant(registry, aliceKey, _terms(EMAIL | PURCHASES), stale);
        // ...then revokes. The revoke does not compete for the grant's nonce, so it lands.
        vm.warp(START + 2);
        _revokeBySig(_timingAt(START + 2, 101));
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.GrantSignedBeforeRevoke.selector, START + 1, START + 2));
        vm.prank(relayer);
        registry.grantBySig(_terms(EMAIL | PURCHASES), stale, sig);
        assertFalse(registry.covers(alice, brand, MARKETING, EMAIL));
    }

    function test_RevertWhen_grantBySig_SignedInTheSameSecondAsTheRevoke() public {
        IConsentRegistry.SignatureTiming memory t = _timingAt(START, 1);
        bytes memory sig = _signGrant(registry, aliceKey, _terms(EMAIL), t);
        vm.prank(alice);
        registry.revoke(alice, brand, MARKETING);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.GrantSignedBeforeRevoke.selector, START, START));
        registry.grantBySig(_terms(EMAIL), t, sig);
    }

    function test_revoke_RecordedEvenWithoutAConsentInForce() public {
        vm.expectEmit(address(registry));
        emit IConsentRegistry.ConsentRevoked(alice, brand, MARKETING, START, 0);
        vm.prank(alice);
        registry.revoke(alice, brand, MARKETING);
        assertEq(registry.revokedAt(alice, brand, MARKETING), START);
    }

    function test_grant_DirectGrantAfterARevokeInTheSameSecondStands() public {
        vm.startPrank(alice);
        registry.revoke(alice, brand, MARKETING);
        registry.grant(_terms(EMAIL));
        vm.stopPrank();
        assertTrue(registry.covers(alice, brand, MARKETING, EMAIL));
    }

    function test_grantBySig_GrantSignedAfterTheRevokeStands() public {
        _revokeBySig(_timing());
        vm.warp(START + 1);
        _grantBySig(_terms(EMAIL), _timingAt(START + 1, 55));
        assertTrue(registry.covers(alice, brand, MARKETING, EMAIL));
    }

    function testFuzz_grantBySig_NoGrantSignedAtOrBeforeARevokeTakesEffect(uint40 signedAt, uint40 revokeAt) public {
        revokeAt = uint40(bound(revokeAt, START, START + 30 days));
        signedAt = uint40(bound(signedAt, revokeAt - 1 days + 1, revokeAt));
        vm.warp(revokeAt);
        vm.prank(alice);
        registry.revoke(alice, brand, MARKETING);
        IConsentRegistry.SignatureTiming memory t =
            IConsentRegistry.SignatureTiming({signedAt: signedAt, nonce: 9, deadline: uint256(signedAt) + 1 days});
        bytes memory sig = _signGrant(registry, aliceKey, _terms(EMAIL), t);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.GrantSignedBeforeRevoke.selector, signedAt, revokeAt));
        registry.grantBySig(_terms(EMAIL), t, sig);
    }

    // ---- deadlines are capped: a grant cannot land a year after it was signed ----

    function test_RevertWhen_grantBySig_DeadlineAYearAfterSigning() public {
        IConsentRegistry.SignatureTiming memory t =
            IConsentRegistry.SignatureTiming({signedAt: START, nonce: 1, deadline: uint256(START) + 365 days});
        bytes memory sig = _signGrant(registry, aliceKey, _terms(EMAIL), t);
        vm.warp(START + 364 days);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.SignatureLifetimeTooLong.selector, START, t.deadline));
        registry.grantBySig(_terms(EMAIL), t, sig);
    }

    function test_RevertWhen_grantBySig_PastItsDeadline() public {
        IConsentRegistry.SignatureTiming memory t = _timingAt(START, 1);
        bytes memory sig = _signGrant(registry, aliceKey, _terms(EMAIL), t);
        vm.warp(t.deadline + 1);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.SignatureExpired.selector, t.deadline));
        registry.grantBySig(_terms(EMAIL), t, sig);
    }

    function test_RevertWhen_grantBySig_SignedInTheFuture() public {
        IConsentRegistry.SignatureTiming memory t = _timingAt(START + 1, 1);
        bytes memory sig = _signGrant(registry, aliceKey, _terms(EMAIL), t);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.SignedInFuture.selector, START + 1));
        registry.grantBySig(_terms(EMAIL), t, sig);
    }

    function test_RevertWhen_grantBySig_SignatureIsNotTheCustomers() public {
        (, uint256 malloryKey) = makeAddrAndKey("mallory");
        IConsentRegistry.SignatureTiming memory t = _timingAt(START, 1);
        bytes memory sig = _signGrant(registry, malloryKey, _terms(EMAIL), t);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.InvalidSignature.selector, alice));
        registry.grantBySig(_terms(EMAIL), t, sig);
    }

    // ---- unordered nonces ----

    function test_RevertWhen_grantBySig_NonceReplayed() public {
        IConsentRegistry.SignatureTiming memory t = _timingAt(START, 3);
        bytes memory sig = _signGrant(registry, aliceKey, _terms(EMAIL), t);
        registry.grantBySig(_terms(EMAIL), t, sig);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.NonceAlreadyUsed.selector, alice, 3));
        registry.grantBySig(_terms(EMAIL), t, sig);
    }

    function test_grantBySig_NoncesUsableInAnyOrder() public {
        _grantBySig(_terms(EMAIL), _timingAt(START, 900));
        _grantBySig(_terms(EMAIL | PURCHASES), _timingAt(START, 2));
        assertTrue(registry.isNonceUsed(alice, 900));
        assertTrue(registry.isNonceUsed(alice, 2));
        assertFalse(registry.isNonceUsed(alice, 3));
        assertEq(registry.nonceBitmap(alice, 900 >> 8), 1 << (900 & 0xff));
    }

    function test_RevertWhen_grantBySig_NonceInvalidatedByTheCustomer() public {
        IConsentRegistry.SignatureTiming memory t = _timingAt(START, 5);
        bytes memory sig = _signGrant(registry, aliceKey, _terms(EMAIL), t);
        vm.expectEmit(address(registry));
        emit IConsentRegistry.NoncesInvalidated(alice, 0, 1 << 5);
        vm.prank(alice);
        registry.invalidateNonces(0, 1 << 5);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.NonceAlreadyUsed.selector, alice, 5));
        registry.grantBySig(_terms(EMAIL), t, sig);
    }

    function test_RevertWhen_grantBySig_SignedBeforeTheCustomersCutoff() public {
        IConsentRegistry.SignatureTiming memory t = _timingAt(START, 5);
        bytes memory sig = _signGrant(registry, aliceKey, _terms(EMAIL), t);
        vm.prank(alice);
        registry.invalidateSignaturesBefore(START);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.SignatureInvalidated.selector, alice, START, START));
        registry.grantBySig(_terms(EMAIL), t, sig);
    }

    function test_invalidateBySig_RelayedInvalidationRefusesOlderSignatures() public {
        IConsentRegistry.SignatureTiming memory t = _timingAt(START, 5);
        bytes memory grantSig = _signGrant(registry, aliceKey, _terms(EMAIL), t);
        vm.warp(START + 1);
        IConsentRegistry.SignatureTiming memory it = _timingAt(START + 1, 6);
        bytes memory sig = _signInvalidate(registry, aliceKey, alice, 0, 0, START + 1, it);
        vm.prank(pauser);
        registry.pause(); // invalidation must work while paused
        vm.prank(relayer);
        registry.invalidateBySig(alice, 0, 0, START + 1, it, sig);
        assertEq(registry.signedBeforeCutoff(alice), START + 1);
        vm.prank(pauser);
        registry.unpause();
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.SignatureInvalidated.selector, alice, START, START + 1));
        registry.grantBySig(_terms(EMAIL), t, grantSig);
    }

    function test_RevertWhen_invalidateSignaturesBefore_CutoffInTheFutureOrBackwards() public {
        vm.startPrank(alice);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.InvalidCutoff.selector, 0, START + 1));
        registry.invalidateSignaturesBefore(START + 1);
        registry.invalidateSignaturesBefore(START);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.InvalidCutoff.selector, START, START - 1));
        registry.invalidateSignaturesBefore(START - 1);
        vm.stopPrank();
    }

    // ---- narrowing and revoking by signature ----

    function test_narrowBySig_RelayedNarrowing() public {
        _grantBySig(_terms(EMAIL | PURCHASES), _timing());
        Narrowing memory n = Narrowing(alice, brand, MARKETING, EMAIL, 0);
        IConsentRegistry.SignatureTiming memory t = _timing();
        bytes memory sig = _signNarrow(registry, aliceKey, n, t);
        vm.prank(relayer);
        registry.narrowBySig(alice, brand, MARKETING, EMAIL, 0, t, sig);
        assertFalse(registry.covers(alice, brand, MARKETING, PURCHASES));
        assertTrue(registry.covers(alice, brand, MARKETING, EMAIL));
    }

    function test_revokeBySig_WorksWhilePaused() public {
        _grantBySig(_terms(EMAIL), _timing());
        vm.prank(pauser);
        registry.pause();
        _revokeBySig(_timing());
        assertFalse(registry.covers(alice, brand, MARKETING, EMAIL));
    }

    // ---- contract wallets (ERC-1271) ----

    function test_grantBySig_ContractWalletSignature() public {
        (address owner, uint256 ownerKey) = makeAddrAndKey("walletOwner");
        MockERC1271Wallet wallet = new MockERC1271Wallet(owner);
        IConsentRegistry.GrantTerms memory terms = _terms(EMAIL);
        terms.customer = address(wallet);
        IConsentRegistry.SignatureTiming memory t = _timing();
        bytes memory sig = _sign(ownerKey, _grantDigest(registry.DOMAIN_SEPARATOR(), terms, t));
        registry.grantBySig(terms, t, sig);
        assertTrue(registry.covers(address(wallet), brand, MARKETING, EMAIL));
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {ConsentRegistry} from "../src/ConsentRegistry.sol";
import {IConsentRegistry} from "../src/interfaces/IConsentRegistry.sol";
import {ConsentSigner} from "./utils/ConsentSigner.sol";
import {MockERC1271Wallet} from "./utils/MockERC1271Wallet.sol";

/// @notice Fuzz tests of ConsentRegistry's EIP-712 signatures: who signed, until when, how often,
/// on which chain, for which terms, and from EOAs as well as ERC-1271 contract wallets.
contract ConsentRegistrySigTest is Test, ConsentSigner {
    uint8 internal constant MARKETING = 1;
    uint64 internal constant EMAIL = 1 << 0;
    uint64 internal constant PURCHASES = 1 << 1;
    uint96 internal constant PRICE = 25_000;
    uint40 internal constant START = 1_700_000_000;
    uint256 internal constant DEADLINE = START + 1 hours;
    /// @dev The order of secp256k1's group; private keys lie in [1, N - 1].
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;

    ConsentRegistry internal registry;
    address internal admin;
    address internal brand;
    address internal otherBrand;
    address internal alice;
    uint256 internal aliceKey;

    function setUp() public {
        vm.warp(START);
        admin = makeAddr("admin");
        brand = makeAddr("brand");
        otherBrand = makeAddr("otherBrand");
        (alice, aliceKey) = makeAddrAndKey("alice");

        registry = new ConsentRegistry(admin);
        vm.startPrank(admin);
        registry.registerBrand(brand);
        registry.registerBrand(otherBrand);
        vm.stopPrank();
    }

    // ----------------------------------------------------------------------------------------
    // Helpers
    // ----------------------------------------------------------------------------------------

    function _terms(address customer) internal view returns (IConsentRegistry.GrantTerms memory) {
        return IConsentRegistry.GrantTerms({
            customer: customer,
            brand: brand,
            purpose: MARKETING,
            categories: EMAIL | PURCHASES,
            expiresAt: START + 365 days,
            price: PRICE,
            receiptHash: keccak256("receipt-1"),
            noticeHash: keccak256("notice-v1")
        });
    }

    /// @dev A private key distinct from `excluded`, spread evenly over the valid range.
    function _otherKey(uint256 seed, uint256 excluded) internal pure returns (uint256 key) {
        key = bound(seed, 1, SECP256K1_N - 2);
        if (key >= excluded) key += 1;
    }

    function _grantAlice() internal {
        vm.prank(alice);
        registry.grant(_terms(alice));
    }

    function _narrowing(uint64 categories, uint40 expiresAt) internal view returns (Narrowing memory) {
        return
            Narrowing({customer: alice, brand: brand, purpose: MARKETING, categories: categories, expiresAt: expiresAt});
    }

    function _invalid(address customer) internal pure returns (bytes memory) {
        return abi.encodeWithSelector(IConsentRegistry.InvalidSignature.selector, customer);
    }

    // ----------------------------------------------------------------------------------------
    // Signer
    // ----------------------------------------------------------------------------------------

    function testFuzz_grantBySig_AnyKeyForItsOwnAddress(uint256 key, address relayer) public {
        key = boundPrivateKey(key);
        IConsentRegistry.GrantTerms memory terms = _terms(vm.addr(key));
        bytes memory sig = _signGrant(registry, key, terms, DEADLINE);

        vm.prank(relayer);
        registry.grantBySig(terms, DEADLINE, sig);
        assertEq(registry.consentOf(terms.customer, brand, MARKETING).categories, EMAIL | PURCHASES);
        assertEq(registry.nonces(terms.customer), 1);
    }

    function testFuzz_RevertWhen_GrantSignedByOtherKey(uint256 signerKey) public {
        signerKey = _otherKey(signerKey, aliceKey);
        IConsentRegistry.GrantTerms memory terms = _terms(alice);
        bytes memory sig = _signGrant(registry, signerKey, terms, DEADLINE);
        vm.expectRevert(_invalid(alice));
        registry.grantBySig(terms, DEADLINE, sig);
    }

    function testFuzz_RevertWhen_NarrowSignedByOtherKey(uint256 signerKey) public {
        signerKey = _otherKey(signerKey, aliceKey);
        _grantAlice();
        bytes memory sig = _signNarrow(registry, signerKey, _narrowing(EMAIL, START + 1 days), DEADLINE);
        vm.expectRevert(_invalid(alice));
        registry.narrowBySig(alice, brand, MARKETING, EMAIL, START + 1 days, DEADLINE, sig);
    }

    function testFuzz_RevertWhen_RevokeSignedByOtherKey(uint256 signerKey) public {
        signerKey = _otherKey(signerKey, aliceKey);
        _grantAlice();
        bytes memory sig = _signRevoke(registry, signerKey, alice, brand, MARKETING, DEADLINE);
        vm.expectRevert(_invalid(alice));
        registry.revokeBySig(alice, brand, MARKETING, DEADLINE, sig);
    }

    function testFuzz_RevertWhen_SignatureMalleated(uint256 key) public {
        key = boundPrivateKey(key);
        IConsentRegistry.GrantTerms memory terms = _terms(vm.addr(key));
        bytes32 digest = _grantDigest(registry.DOMAIN_SEPARATOR(), terms, 0, DEADLINE);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(key, digest);
        // The same point's other half: (r, N - s, v ^ 1) recovers the same address but is not canonical.
        bytes memory malleated = abi.encodePacked(r, bytes32(SECP256K1_N - uint256(s)), v == 27 ? uint8(28) : uint8(27));

        vm.expectRevert(_invalid(terms.customer));
        registry.grantBySig(terms, DEADLINE, malleated);
    }

    function testFuzz_RevertWhen_SignatureIsGarbage(bytes calldata signature) public {
        vm.expectRevert(_invalid(alice));
        registry.grantBySig(_terms(alice), DEADLINE, signature);
    }

    // ----------------------------------------------------------------------------------------
    // Deadline
    // ----------------------------------------------------------------------------------------

    function testFuzz_grantBySig_AcceptsUntilDeadline(uint256 deadline, uint256 elapsed) public {
        deadline = bound(deadline, START, START + 30 days);
        elapsed = bound(elapsed, 0, deadline - START);
        IConsentRegistry.GrantTerms memory terms = _terms(alice);
        terms.expiresAt = 0;
        bytes memory sig = _signGrant(registry, aliceKey, terms, deadline);

        vm.warp(START + elapsed);
        registry.grantBySig(terms, deadline, sig);
        assertEq(registry.consentOf(alice, brand, MARKETING).grantedAt, START + elapsed);
    }

    function testFuzz_RevertWhen_GrantDeadlinePassed(uint256 deadline, uint256 delay) public {
        deadline = bound(deadline, START, START + 3650 days);
        delay = bound(delay, 1, 3650 days);
        IConsentRegistry.GrantTerms memory terms = _terms(alice);
        terms.expiresAt = 0;
        bytes memory sig = _signGrant(registry, aliceKey, terms, deadline);

        vm.warp(deadline + delay);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.SignatureExpired.selector, deadline));
        registry.grantBySig(terms, deadline, sig);
    }

    function testFuzz_RevertWhen_NarrowDeadlinePassed(uint256 deadline, uint256 delay) public {
        deadline = bound(deadline, START, START + 30 days);
        delay = bound(delay, 1, 30 days);
        _grantAlice();
        bytes memory sig = _signNarrow(registry, aliceKey, _narrowing(EMAIL, START + 300 days), deadline);

        vm.warp(deadline + delay);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.SignatureExpired.selector, deadline));
        registry.narrowBySig(alice, brand, MARKETING, EMAIL, START + 300 days, deadline, sig);
    }

    function testFuzz_RevertWhen_RevokeDeadlinePassed(uint256 deadline, uint256 delay) public {
        deadline = bound(deadline, START, START + 3650 days);
        delay = bound(delay, 1, 3650 days);
        _grantAlice();
        bytes memory sig = _signRevoke(registry, aliceKey, alice, brand, MARKETING, deadline);

        vm.warp(deadline + delay);
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.SignatureExpired.selector, deadline));
        registry.revokeBySig(alice, brand, MARKETING, deadline, sig);
    }

    // ----------------------------------------------------------------------------------------
    // Nonce: no replay
    // ----------------------------------------------------------------------------------------

    function testFuzz_RevertWhen_GrantSignatureReplayed(address relayer, address replayer) public {
        IConsentRegistry.GrantTerms memory terms = _terms(alice);
        bytes memory sig = _signGrant(registry, aliceKey, terms, DEADLINE);
        vm.prank(relayer);
        registry.grantBySig(terms, DEADLINE, sig);

        vm.expectRevert(_invalid(alice));
        vm.prank(replayer);
        registry.grantBySig(terms, DEADLINE, sig);
        assertEq(registry.nonces(alice), 1);
    }

    function testFuzz_RevertWhen_NarrowSignatureReplayed(uint64 categories) public {
        // Any non-empty subset of EMAIL | PURCHASES.
        categories = uint64(bound(categories, 1, EMAIL | PURCHASES));
        _grantAlice();
        bytes memory sig = _signNarrow(registry, aliceKey, _narrowing(categories, START + 1 days), DEADLINE);
        registry.narrowBySig(alice, brand, MARKETING, categories, START + 1 days, DEADLINE, sig);

        vm.expectRevert(_invalid(alice));
        registry.narrowBySig(alice, brand, MARKETING, categories, START + 1 days, DEADLINE, sig);
    }

    function testFuzz_RevertWhen_RevokeSignatureReplayedAfterRegrant(uint256 gap) public {
        gap = bound(gap, 0, 30 minutes);
        _grantAlice();
        bytes memory sig = _signRevoke(registry, aliceKey, alice, brand, MARKETING, DEADLINE);
        registry.revokeBySig(alice, brand, MARKETING, DEADLINE, sig);

        vm.warp(START + gap);
        _grantAlice();
        vm.expectRevert(_invalid(alice));
        registry.revokeBySig(alice, brand, MARKETING, DEADLINE, sig);
        assertEq(registry.consentOf(alice, brand, MARKETING).categories, EMAIL | PURCHASES);
    }

    function testFuzz_RevertWhen_GrantSignedForOtherNonce(uint256 nonce, uint8 used) public {
        used = uint8(bound(used, 0, 5));
        for (uint256 i; i < used; ++i) {
            _grantAlice();
        }
        // Any nonce but the current one: past ones are spent, future ones are not yet due.
        nonce = bound(nonce, 0, type(uint256).max - 1);
        if (nonce >= used) nonce += 1;
        IConsentRegistry.GrantTerms memory terms = _terms(alice);
        bytes memory sig = _sign(aliceKey, _grantDigest(registry.DOMAIN_SEPARATOR(), terms, nonce, DEADLINE));

        vm.expectRevert(_invalid(alice));
        registry.grantBySig(terms, DEADLINE, sig);
    }

    // ----------------------------------------------------------------------------------------
    // Chain and verifying contract
    // ----------------------------------------------------------------------------------------

    function testFuzz_RevertWhen_ChainIdChangedAfterSigning(uint64 newChainId) public {
        uint256 signedOn = block.chainid;
        newChainId = uint64(bound(newChainId, 1, type(uint64).max - 1));
        if (newChainId >= signedOn) newChainId += 1;
        IConsentRegistry.GrantTerms memory terms = _terms(alice);
        bytes memory sig = _signGrant(registry, aliceKey, terms, DEADLINE);

        vm.chainId(newChainId);
        vm.expectRevert(_invalid(alice));
        registry.grantBySig(terms, DEADLINE, sig);
    }

    function testFuzz_RevertWhen_SignedForOtherChainId(uint256 otherChainId) public {
        otherChainId = bound(otherChainId, 0, type(uint256).max - 1);
        if (otherChainId >= block.chainid) otherChainId += 1;
        IConsentRegistry.GrantTerms memory terms = _terms(alice);
        bytes32 digest = _grantDigest(_domainSeparator(address(registry), otherChainId), terms, 0, DEADLINE);

        vm.expectRevert(_invalid(alice));
        registry.grantBySig(terms, DEADLINE, _sign(aliceKey, digest));
    }

    function testFuzz_RevertWhen_RevokeSignedForOtherChainId(uint256 otherChainId) public {
        otherChainId = bound(otherChainId, 0, type(uint256).max - 1);
        if (otherChainId >= block.chainid) otherChainId += 1;
        _grantAlice();
        bytes32 digest =
            _revokeDigest(_domainSeparator(address(registry), otherChainId), alice, brand, MARKETING, 1, DEADLINE);

        vm.expectRevert(_invalid(alice));
        registry.revokeBySig(alice, brand, MARKETING, DEADLINE, _sign(aliceKey, digest));
    }

    function testFuzz_grantBySig_SignedForNewChainId(uint64 newChainId) public {
        newChainId = uint64(bound(newChainId, 1, type(uint64).max));
        vm.chainId(newChainId);
        IConsentRegistry.GrantTerms memory terms = _terms(alice);
        bytes32 digest = _grantDigest(_domainSeparator(address(registry), newChainId), terms, 0, DEADLINE);

        registry.grantBySig(terms, DEADLINE, _sign(aliceKey, digest));
        assertEq(registry.nonces(alice), 1);
    }

    function testFuzz_RevertWhen_SignedForOtherRegistry(address otherRegistry) public {
        if (otherRegistry == address(registry)) otherRegistry = address(uint160(otherRegistry) ^ 1);
        IConsentRegistry.GrantTerms memory terms = _terms(alice);
        bytes32 digest = _grantDigest(_domainSeparator(otherRegistry, block.chainid), terms, 0, DEADLINE);

        vm.expectRevert(_invalid(alice));
        registry.grantBySig(terms, DEADLINE, _sign(aliceKey, digest));
    }

    // ----------------------------------------------------------------------------------------
    // Terms
    // ----------------------------------------------------------------------------------------

    function testFuzz_RevertWhen_GrantSignatureForOtherTerms(uint256 field, uint256 change) public {
        IConsentRegistry.GrantTerms memory signed = _terms(alice);
        bytes memory sig = _signGrant(registry, aliceKey, signed, DEADLINE);

        IConsentRegistry.GrantTerms memory sent = _terms(alice);
        uint256 deadline = DEADLINE;
        field = bound(field, 0, 8);
        if (field == 0) sent.customer = address(uint160(bound(change, 1, type(uint160).max)) ^ uint160(alice));
        else if (field == 1) sent.brand = otherBrand;
        else if (field == 2) sent.purpose = uint8(bound(change, 1, type(uint8).max)) ^ MARKETING;
        else if (field == 3) sent.categories = uint64(bound(change, 1, type(uint64).max)) ^ signed.categories;
        else if (field == 4) sent.expiresAt = uint40(bound(change, 1, type(uint40).max)) ^ signed.expiresAt;
        else if (field == 5) sent.price = uint96(bound(change, 1, type(uint96).max)) ^ PRICE;
        else if (field == 6) sent.receiptHash = bytes32(bound(change, 1, type(uint256).max)) ^ signed.receiptHash;
        else if (field == 7) sent.noticeHash = bytes32(bound(change, 1, type(uint256).max)) ^ signed.noticeHash;
        else deadline = bound(change, DEADLINE + 1, type(uint256).max);

        vm.expectRevert(_invalid(sent.customer));
        registry.grantBySig(sent, deadline, sig);
    }

    function testFuzz_RevertWhen_NarrowSignatureForOtherTerms(uint256 field, uint256 change) public {
        _grantAlice();
        Narrowing memory signed = _narrowing(EMAIL, START + 1 days);
        bytes memory sig = _signNarrow(registry, aliceKey, signed, DEADLINE);

        Narrowing memory sent = _narrowing(EMAIL, START + 1 days);
        uint256 deadline = DEADLINE;
        field = bound(field, 0, 4);
        if (field == 0) sent.brand = otherBrand;
        else if (field == 1) sent.purpose = uint8(bound(change, 1, type(uint8).max)) ^ MARKETING;
        else if (field == 2) sent.categories = PURCHASES;
        else if (field == 3) sent.expiresAt = uint40(bound(change, START + 1, START + 1 days - 1));
        else deadline = bound(change, DEADLINE + 1, type(uint256).max);

        vm.expectRevert(_invalid(alice));
        registry.narrowBySig(sent.customer, sent.brand, sent.purpose, sent.categories, sent.expiresAt, deadline, sig);
    }

    function testFuzz_RevertWhen_RevokeSignatureForOtherConsent(uint8 purpose) public {
        purpose = uint8(bound(purpose, 0, type(uint8).max - 1));
        if (purpose >= MARKETING) purpose += 1;
        _grantAlice();
        bytes memory sig = _signRevoke(registry, aliceKey, alice, brand, MARKETING, DEADLINE);

        vm.expectRevert(_invalid(alice));
        registry.revokeBySig(alice, brand, purpose, DEADLINE, sig);
        vm.expectRevert(_invalid(alice));
        registry.revokeBySig(alice, otherBrand, MARKETING, DEADLINE, sig);
    }

    function testFuzz_RevertWhen_SignatureForOtherAction(uint40 expiresAt) public {
        expiresAt = uint40(bound(expiresAt, START + 1, START + 365 days));
        _grantAlice();
        // A revocation signed by the customer cannot be relayed as a narrowing, nor the reverse.
        bytes memory revokeSig = _signRevoke(registry, aliceKey, alice, brand, MARKETING, DEADLINE);
        vm.expectRevert(_invalid(alice));
        registry.narrowBySig(alice, brand, MARKETING, EMAIL, expiresAt, DEADLINE, revokeSig);

        bytes memory narrowSig = _signNarrow(registry, aliceKey, _narrowing(EMAIL, expiresAt), DEADLINE);
        vm.expectRevert(_invalid(alice));
        registry.revokeBySig(alice, brand, MARKETING, DEADLINE, narrowSig);
    }

    // ----------------------------------------------------------------------------------------
    // ERC-1271 contract wallets
    // ----------------------------------------------------------------------------------------

    function testFuzz_grantBySig_ContractWalletOwnerSigns(uint256 ownerKey) public {
        ownerKey = boundPrivateKey(ownerKey);
        MockERC1271Wallet wallet = new MockERC1271Wallet(vm.addr(ownerKey));
        IConsentRegistry.GrantTerms memory terms = _terms(address(wallet));

        registry.grantBySig(terms, DEADLINE, _signGrant(registry, ownerKey, terms, DEADLINE));
        assertTrue(registry.covers(address(wallet), brand, MARKETING, EMAIL));

        Narrowing memory n = Narrowing(address(wallet), brand, MARKETING, EMAIL, START + 1 days);
        registry.narrowBySig(
            address(wallet),
            brand,
            MARKETING,
            EMAIL,
            START + 1 days,
            DEADLINE,
            _signNarrow(registry, ownerKey, n, DEADLINE)
        );
        assertFalse(registry.covers(address(wallet), brand, MARKETING, PURCHASES));

        registry.revokeBySig(
            address(wallet),
            brand,
            MARKETING,
            DEADLINE,
            _signRevoke(registry, ownerKey, address(wallet), brand, MARKETING, DEADLINE)
        );
        assertEq(registry.consentOf(address(wallet), brand, MARKETING).categories, 0);
        assertEq(registry.nonces(address(wallet)), 3);
    }

    function testFuzz_RevertWhen_ContractWalletSignedByOtherKey(uint256 ownerKey, uint256 signerKey) public {
        ownerKey = boundPrivateKey(ownerKey);
        signerKey = _otherKey(signerKey, ownerKey);
        MockERC1271Wallet wallet = new MockERC1271Wallet(vm.addr(ownerKey));
        IConsentRegistry.GrantTerms memory terms = _terms(address(wallet));
        bytes memory sig = _signGrant(registry, signerKey, terms, DEADLINE);

        vm.expectRevert(_invalid(address(wallet)));
        registry.grantBySig(terms, DEADLINE, sig);
    }

    function testFuzz_RevertWhen_ContractWalletSignatureReplayed(uint256 ownerKey) public {
        ownerKey = boundPrivateKey(ownerKey);
        MockERC1271Wallet wallet = new MockERC1271Wallet(vm.addr(ownerKey));
        IConsentRegistry.GrantTerms memory terms = _terms(address(wallet));
        bytes memory sig = _signGrant(registry, ownerKey, terms, DEADLINE);
        registry.grantBySig(terms, DEADLINE, sig);

        vm.expectRevert(_invalid(address(wallet)));
        registry.grantBySig(terms, DEADLINE, sig);
    }

    function testFuzz_RevertWhen_WalletOwnerSignatureUsedForOwnerAccount(uint256 ownerKey) public {
        ownerKey = boundPrivateKey(ownerKey);
        MockERC1271Wallet wallet = new MockERC1271Wallet(vm.addr(ownerKey));
        // Signed for the wallet's consent, relayed as the owner EOA's own: the customer differs.
        bytes memory sig = _signGrant(registry, ownerKey, _terms(address(wallet)), DEADLINE);
        IConsentRegistry.GrantTerms memory asOwner = _terms(wallet.owner());

        vm.expectRevert(_invalid(wallet.owner()));
        registry.grantBySig(asOwner, DEADLINE, sig);
    }

    function testFuzz_RevertWhen_ContractWalletSignatureIsGarbage(bytes calldata signature) public {
        MockERC1271Wallet wallet = new MockERC1271Wallet(alice);
        vm.expectRevert(_invalid(address(wallet)));
        registry.grantBySig(_terms(address(wallet)), DEADLINE, signature);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CommonBase} from "forge-std/Base.sol";
import {IConsentRegistry} from "../../src/interfaces/IConsentRegistry.sol";

/// @notice Builds and signs the ConsentRegistry's EIP-712 messages the way a wallet does, so tests
/// can relay them.
/// @dev The type strings are copied from ConsentRegistry.sol; a test checks their hashes against
/// the registry's `*_TYPEHASH` getters so the two cannot drift apart.
abstract contract ConsentSigner is CommonBase {
    /// @notice The terms of a narrowing, grouped to keep the signing helpers' stacks shallow.
    struct Narrowing {
        address customer;
        address brand;
        uint8 purpose;
        uint64 categories;
        uint40 expiresAt;
    }

    string internal constant GRANT_TYPE =
        "Grant(address customer,address brand,uint8 purpose,uint64 categories,uint40 expiresAt,uint96 price,bytes32 receiptHash,bytes32 noticeHash,uint40 signedAt,uint256 nonce,uint256 deadline)";
    string internal constant NARROW_TYPE =
        "Narrow(address customer,address brand,uint8 purpose,uint64 categories,uint40 expiresAt,uint40 signedAt,uint256 nonce,uint256 deadline)";
    string internal constant REVOKE_TYPE =
        "Revoke(address customer,address brand,uint8 purpose,uint40 signedAt,uint256 nonce,uint256 deadline)";
    string internal constant INVALIDATE_TYPE =
        "Invalidate(address signer,uint256 wordPos,uint256 mask,uint40 cutoff,uint40 signedAt,uint256 nonce,uint256 deadline)";
    string internal constant ACCESS_LIMITS_TYPE =
        "AccessLimits(address brand,uint96 allowance,uint96 maxPrice,uint40 signedAt,uint256 nonce,uint256 deadline)";
    string internal constant DOMAIN_TYPE =
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
    string internal constant DOMAIN_NAME = "ConsentRegistry";
    string internal constant DOMAIN_VERSION = "1";

    uint256 private _nextNonce = 1;

    /// @notice The registry's EIP-712 domain separator as it would be on chain `chainId`.
    function _domainSeparator(address registry, uint256 chainId) internal pure returns (bytes32) {
        return keccak256(
            abi.encode(
                keccak256(bytes(DOMAIN_TYPE)),
                keccak256(bytes(DOMAIN_NAME)),
                keccak256(bytes(DOMAIN_VERSION)),
                chainId,
                registry
            )
        );
    }

    /// @notice Signed now with a fresh nonce, relayable for an hour.
    function _timing() internal returns (IConsentRegistry.SignatureTiming memory) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return _timingAt(uint40(block.timestamp), _nextNonce++);
    }

    /// @notice Signed at `signedAt` with `nonce`, relayable for an hour after signing.
    function _timingAt(uint40 signedAt, uint256 nonce) internal pure returns (IConsentRegistry.SignatureTiming memory) {
        return
            IConsentRegistry.SignatureTiming({signedAt: signedAt, nonce: nonce, deadline: uint256(signedAt) + 1 hours});
    }

    function _grantDigest(
        bytes32 domainSeparator,
        IConsentRegistry.GrantTerms memory terms,
        IConsentRegistry.SignatureTiming memory t
    ) internal pure returns (bytes32) {
        // Two halves of static words concatenate to the same bytes as one abi.encode of all twelve.
        bytes32 structHash = keccak256(
            bytes.concat(
                abi.encode(
                    keccak256(bytes(GRANT_TYPE)),
                    terms.customer,
                    terms.brand,
                    terms.purpose,
                    terms.categories,
                    terms.expiresAt
                ),
                abi.encode(terms.price, terms.receiptHash, terms.noticeHash, t.signedAt, t.nonce, t.deadline)
            )
        );
        return _typedDataHash(domainSeparator, structHash);
    }

    function _narrowDigest(bytes32 domainSeparator, Narrowing memory n, IConsentRegistry.SignatureTiming memory t)
        internal
        pure
        returns (bytes32)
    {
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(bytes(NARROW_TYPE)),
                n.customer,
                n.brand,
                n.purpose,
                n.categories,
                n.expiresAt,
                t.signedAt,
                t.nonce,
                t.deadline
            )
        );
        return _typedDataHash(domainSeparator, structHash);
    }

    function _revokeDigest(
        bytes32 domainSeparator,
        address customer,
        address brand,
        uint8 purpose,
        IConsentRegistry.SignatureTiming memory t
    ) internal pure returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(keccak256(bytes(REVOKE_TYPE)), customer, brand, purpose, t.signedAt, t.nonce, t.deadline)
        );
        return _typedDataHash(domainSeparator, structHash);
    }

    function _invalidateDigest(
        bytes32 domainSeparator,
        address signer,
        uint256 wordPos,
        uint256 mask,
        uint40 cutoff,
        IConsentRegistry.SignatureTiming memory t
    ) internal pure returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(bytes(INVALIDATE_TYPE)), signer, wordPos, mask, cutoff, t.signedAt, t.nonce, t.deadline
            )
        );
        return _typedDataHash(domainSeparator, structHash);
    }

    function _limitsDigest(
        bytes32 domainSeparator,
        address brand,
        IConsentRegistry.AccessLimits memory limits,
        IConsentRegistry.SignatureTiming memory t
    ) internal pure returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256(bytes(ACCESS_LIMITS_TYPE)),
                brand,
                limits.allowance,
                limits.maxPrice,
                t.signedAt,
                t.nonce,
                t.deadline
            )
        );
        return _typedDataHash(domainSeparator, structHash);
    }

    /// @notice Signs `digest` with `privateKey` as a 65-byte `r ‖ s ‖ v` signature.
    function _sign(uint256 privateKey, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey, digest);
        return abi.encodePacked(r, s, v);
    }

    function _signGrant(
        IConsentRegistry registry,
        uint256 privateKey,
        IConsentRegistry.GrantTerms memory terms,
        IConsentRegistry.SignatureTiming memory t
    ) internal view returns (bytes memory) {
        return _sign(privateKey, _grantDigest(registry.DOMAIN_SEPARATOR(), terms, t));
    }

    function _signNarrow(
        IConsentRegistry registry,
        uint256 privateKey,
        Narrowing memory n,
        IConsentRegistry.SignatureTiming memory t
    ) internal view returns (bytes memory) {
        return _sign(privateKey, _narrowDigest(registry.DOMAIN_SEPARATOR(), n, t));
    }

    function _signRevoke(
        IConsentRegistry registry,
        uint256 privateKey,
        address customer,
        address brand,
        uint8 purpose,
        IConsentRegistry.SignatureTiming memory t
    ) internal view returns (bytes memory) {
        return _sign(privateKey, _revokeDigest(registry.DOMAIN_SEPARATOR(), customer, brand, purpose, t));
    }

    function _signInvalidate(
        IConsentRegistry registry,
        uint256 privateKey,
        address signer,
        uint256 wordPos,
        uint256 mask,
        uint40 cutoff,
        IConsentRegistry.SignatureTiming memory t
    ) internal view returns (bytes memory) {
        return _sign(privateKey, _invalidateDigest(registry.DOMAIN_SEPARATOR(), signer, wordPos, mask, cutoff, t));
    }

    function _signLimits(
        IConsentRegistry registry,
        uint256 privateKey,
        address brand,
        IConsentRegistry.AccessLimits memory limits,
        IConsentRegistry.SignatureTiming memory t
    ) internal view returns (bytes memory) {
        return _sign(privateKey, _limitsDigest(registry.DOMAIN_SEPARATOR(), brand, limits, t));
    }

    function _typedDataHash(bytes32 domainSeparator, bytes32 structHash) private pure returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }
}

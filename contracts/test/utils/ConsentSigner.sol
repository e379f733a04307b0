// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {CommonBase} from "forge-std/Base.sol";
import {IConsentRegistry} from "../../src/interfaces/IConsentRegistry.sol";

/// @notice Builds and signs the ConsentRegistry's EIP-712 `Grant`, `Narrow` and `Revoke` messages
/// the way a customer's wallet does, so tests can relay them.
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
        "Grant(address customer,address brand,uint8 purpose,uint64 categories,uint40 expiresAt,uint96 price,bytes32 receiptHash,bytes32 noticeHash,uint256 nonce,uint256 deadline)";
    string internal constant NARROW_TYPE =
        "Narrow(address customer,address brand,uint8 purpose,uint64 categories,uint40 expiresAt,uint256 nonce,uint256 deadline)";
    string internal constant REVOKE_TYPE =
        "Revoke(address customer,address brand,uint8 purpose,uint256 nonce,uint256 deadline)";
    string internal constant DOMAIN_TYPE =
        "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)";
    string internal constant DOMAIN_NAME = "ConsentRegistry";
    string internal constant DOMAIN_VERSION = "1";

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

    function _grantDigest(
        bytes32 domainSeparator,
        IConsentRegistry.GrantTerms memory terms,
        uint256 nonce,
        uint256 deadline
    ) internal pure returns (bytes32) {
        // Two halves of static words concatenate to the same bytes as one abi.encode of all eleven.
        bytes32 structHash = keccak256(
            bytes.concat(
                abi.encode(keccak256(bytes(GRANT_TYPE)), terms.customer, terms.brand, terms.purpose, terms.categories),
                abi.encode(terms.expiresAt, terms.price, terms.receiptHash, terms.noticeHash, nonce, deadline)
            )
        );
        return _typedDataHash(domainSeparator, structHash);
    }

    function _narrowDigest(bytes32 domainSeparator, Narrowing memory n, uint256 nonce, uint256 deadline)
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
                nonce,
                deadline
            )
        );
        return _typedDataHash(domainSeparator, structHash);
    }

    function _revokeDigest(
        bytes32 domainSeparator,
        address customer,
        address brand,
        uint8 purpose,
        uint256 nonce,
        uint256 deadline
    ) internal pure returns (bytes32) {
        bytes32 structHash = keccak256(
            abi.encode(keccak256(bytes(REVOKE_TYPE)), customer, brand, purpose, nonce, deadline)
        );
        return _typedDataHash(domainSeparator, structHash);
    }

    /// @notice Signs `digest` with `privateKey` as a 65-byte `r ‖ s ‖ v` signature.
    function _sign(uint256 privateKey, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(privateKey, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @notice Signs a `Grant` for `registry` with the customer's current nonce on the current chain.
    function _signGrant(
        IConsentRegistry registry,
        uint256 privateKey,
        IConsentRegistry.GrantTerms memory terms,
        uint256 deadline
    ) internal view returns (bytes memory) {
        bytes32 digest = _grantDigest(registry.DOMAIN_SEPARATOR(), terms, registry.nonces(terms.customer), deadline);
        return _sign(privateKey, digest);
    }

    /// @notice Signs a `Narrow` for `registry` with the customer's current nonce on the current chain.
    function _signNarrow(IConsentRegistry registry, uint256 privateKey, Narrowing memory n, uint256 deadline)
        internal
        view
        returns (bytes memory)
    {
        return _sign(privateKey, _narrowDigest(registry.DOMAIN_SEPARATOR(), n, registry.nonces(n.customer), deadline));
    }

    /// @notice Signs a `Revoke` for `registry` with the customer's current nonce on the current chain.
    function _signRevoke(
        IConsentRegistry registry,
        uint256 privateKey,
        address customer,
        address brand,
        uint8 purpose,
        uint256 deadline
    ) internal view returns (bytes memory) {
        bytes32 digest = _revokeDigest(
            registry.DOMAIN_SEPARATOR(), customer, brand, purpose, registry.nonces(customer), deadline
        );
        return _sign(privateKey, digest);
    }

    function _typedDataHash(bytes32 domainSeparator, bytes32 structHash) private pure returns (bytes32) {
        return keccak256(abi.encodePacked("\x19\x01", domainSeparator, structHash));
    }
}

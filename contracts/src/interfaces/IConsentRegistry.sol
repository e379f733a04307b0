// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IConsentRegistry
/// @notice Customers' consents to brands' use of their data, and the log of every use.
/// A consent is keyed by (customer, brand, purpose) and holds a bitmask of data categories, when
/// it was granted, when it expires, the price a brand pays per access (CASH smallest units), the
/// hash of the off-chain consent receipt and the hash of the notice version the customer saw.
/// Only the customer changes a consent: directly, or by an EIP-712 signature (EOA or ERC-1271)
/// that anyone may relay. No personal data is stored here: addresses, bitmasks, hashes, prices.
interface IConsentRegistry {
    /// @notice A consent as stored. `categories == 0` means no consent (never granted or revoked).
    /// @dev Packed into one slot (64 + 40 + 40 + 96 bits) so the access check costs one SLOAD.
    struct Consent {
        uint64 categories;
        uint40 grantedAt;
        uint40 expiresAt;
        uint96 price;
        bytes32 receiptHash;
        bytes32 noticeHash;
    }

    /// @notice Terms of a grant; the customer signs these with a nonce and deadline.
    struct GrantTerms {
        address customer;
        address brand;
        uint8 purpose;
        uint64 categories;
        uint40 expiresAt;
        uint96 price;
        bytes32 receiptHash;
        bytes32 noticeHash;
    }

    /// @notice The caller is not the customer whose consent it tries to change.
    error NotCustomer(address caller, address customer);
    /// @notice The signature is not the customer's for these terms and nonce.
    error InvalidSignature(address customer);
    /// @notice The signature's deadline has passed.
    error SignatureExpired(uint256 deadline);
    /// @notice The brand is not registered by the operator.
    error BrandNotRegistered(address brand);
    /// @notice The brand is already registered.
    error BrandAlreadyRegistered(address brand);
    /// @notice The brand was deregistered; its address cannot be registered again (its old consents
    /// must never come back to life).
    error BrandRetired(address brand);
    /// @notice A consent must cover at least one data category.
    error EmptyCategories();
    /// @notice The expiry lies in the past.
    error ExpiryInPast(uint40 expiresAt);
    /// @notice No active consent exists for (customer, brand, purpose).
    error ConsentNotFound(address customer, address brand, uint8 purpose);
    /// @notice A narrowing must not add categories or extend (or remove) the expiry.
    error NotANarrowing(
        uint64 currentCategories, uint64 requestedCategories, uint40 currentExpiresAt, uint40 requestedExpiresAt
    );
    /// @notice The customer's consent does not cover the recorded access.
    error ConsentNotCovering(address customer, address brand, uint8 purpose, uint64 categories);
    /// @notice Only the brand itself or a relayer may record the brand's access.
    error NotBrandOrRelayer(address caller, address brand);
    /// @notice An access batch must name at least one customer.
    error EmptyAccessBatch();
    /// @notice The address is zero.
    error ZeroAddress();

    /// @notice A brand was registered by the operator.
    event BrandRegistered(address indexed brand);
    /// @notice A brand was deregistered for good; its consents cover nothing any more.
    event BrandDeregistered(address indexed brand);
    /// @notice A consent was granted or replaced.
    event ConsentGranted(
        address indexed customer,
        address indexed brand,
        uint8 indexed purpose,
        uint64 categories,
        uint40 expiresAt,
        uint96 price,
        bytes32 receiptHash,
        bytes32 noticeHash,
        uint256 nonce
    );
    /// @notice A consent was narrowed to fewer categories and/or an earlier expiry.
    event ConsentNarrowed(
        address indexed customer,
        address indexed brand,
        uint8 indexed purpose,
        uint64 categories,
        uint40 expiresAt,
        uint256 nonce
    );
    /// @notice A consent was revoked; it covers nothing from this block on.
    event ConsentRevoked(address indexed customer, address indexed brand, uint8 indexed purpose, uint256 nonce);
    /// @notice A brand accessed `categories` of each customer for `purpose`, at the listed prices.
    /// @dev `requestId` ties the batch to the off-chain request that caused it.
    event AccessRecorded(
        address indexed brand,
        uint8 indexed purpose,
        bytes32 indexed requestId,
        uint64 categories,
        address[] customers,
        uint96[] prices,
        uint256 total
    );

    /// @notice Registers `brand` so customers can consent to it. Operator only.
    function registerBrand(address brand) external;

    /// @notice Deregisters `brand` for good. Operator only. Its consents stop covering accesses, and
    /// the address cannot be registered again (a brand that returns gets a new address, and asks
    /// customers anew).
    function deregisterBrand(address brand) external;

    /// @notice Whether `brand` is registered.
    function isBrand(address brand) external view returns (bool);

    /// @notice Grants (or replaces) a consent; the caller must be `terms.customer`.
    function grant(GrantTerms calldata terms) external;

    /// @notice Grants (or replaces) a consent signed by `terms.customer` (EIP-712 `Grant`).
    function grantBySig(GrantTerms calldata terms, uint256 deadline, bytes calldata signature) external;

    /// @notice Narrows a consent to a subset of its categories and/or an earlier expiry; the caller
    /// must be the customer.
    function narrow(address customer, address brand, uint8 purpose, uint64 categories, uint40 expiresAt) external;

    /// @notice Narrows a consent signed by the customer (EIP-712 `Narrow`).
    function narrowBySig(
        address customer,
        address brand,
        uint8 purpose,
        uint64 categories,
        uint40 expiresAt,
        uint256 deadline,
        bytes calldata signature
    ) external;

    /// @notice Revokes a consent; the caller must be the customer. Works even when paused.
    function revoke(address customer, address brand, uint8 purpose) external;

    /// @notice Revokes a consent signed by the customer (EIP-712 `Revoke`). Works even when paused.
    function revokeBySig(address customer, address brand, uint8 purpose, uint256 deadline, bytes calldata signature)
        external;

    /// @notice Records that `brand` accessed `categories` of every customer in `customers` for
    /// `purpose`. Reverts with `ConsentNotCovering` naming the first customer not covered.
    /// @dev Callable by the brand itself or by a relayer on its behalf.
    /// @return total The sum of the customers' prices, owed by the brand.
    function recordAccess(
        address brand,
        uint8 purpose,
        uint64 categories,
        address[] calldata customers,
        bytes32 requestId
    ) external returns (uint256 total);

    /// @notice Whether `brand` may use `categories` of `customer` for `purpose` now.
    function covers(address customer, address brand, uint8 purpose, uint64 categories) external view returns (bool);

    /// @notice The consent stored for (customer, brand, purpose); zeroed if none.
    function consentOf(address customer, address brand, uint8 purpose) external view returns (Consent memory);

    /// @notice The next signature nonce of `customer`.
    function nonces(address customer) external view returns (uint256);

    /// @notice The EIP-712 domain separator of this registry.
    function DOMAIN_SEPARATOR() external view returns (bytes32);

    /// @notice keccak256 of the EIP-712 `Grant` type string.
    function GRANT_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256 of the EIP-712 `Narrow` type string.
    function NARROW_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256 of the EIP-712 `Revoke` type string.
    function REVOKE_TYPEHASH() external view returns (bytes32);
}

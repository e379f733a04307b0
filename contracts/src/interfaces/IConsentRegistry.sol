// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IConsentRegistry
/// @notice Customers' consents to brands' use of their data, and the log of every use.
/// A consent is keyed by (customer, brand, purpose) and holds a bitmask of data categories, when
/// it was granted, when it expires, the price a brand pays per access (CASH smallest units), the
/// hash of the off-chain consent receipt and the hash of the notice version the customer saw.
/// Only the customer changes a consent: directly, or by an EIP-712 signature (EOA or ERC-1271)
/// that anyone may relay. No personal data is stored here: addresses, bitmasks, hashes, prices.
/// @dev Signatures (every `*BySig`): each signed message carries `signedAt` (the signer's clock,
/// seconds) and an unordered `nonce` (Permit2-style bitmap: word `nonce >> 8`, bit `nonce & 255`),
/// and its `deadline` may lie at most MAX_SIGNATURE_LIFETIME after `signedAt`. A signature is
/// refused once its nonce is used or invalidated, when `signedAt` is at or before the signer's
/// `signedBeforeCutoff`, and, for a grant, when `signedAt` is at or before the last revocation of
/// the same (customer, brand, purpose): a revoke wins over every grant signed before it.
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

    /// @notice Terms of a grant; the customer signs these with `signedAt`, a nonce and a deadline.
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

    /// @notice When a signature was made, which nonce it uses and until when it may be relayed.
    struct SignatureTiming {
        uint40 signedAt;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice What a brand lets the recorder charge it: `allowance` is the total still chargeable
    /// (each recorded batch lowers it), `maxPrice` the most one customer's access may cost.
    struct AccessLimits {
        uint96 allowance;
        uint96 maxPrice;
    }

    /// @notice Why a customer of an access batch was not recorded (and not charged).
    enum SkipReason {
        NotCovered, // no consent, categories not all granted, expired, or brand not registered
        PriceAboveMaximum, // the consent's price exceeds the customer's agreed maximum or the brand's maxPrice
        Duplicate, // the customer appeared earlier in the same batch (charged once)
        OverAllowance, // the brand's remaining allowance for the recorder cannot pay this customer
        OverBudget // the brand's unreserved budget in the distributor cannot pay this customer
    }

    /// @notice The caller is not the customer whose consent it tries to change.
    error NotCustomer(address caller, address customer);
    /// @notice The caller is not a registered brand (brand-only functions).
    error NotBrand(address caller);
    /// @notice The signature is not `signer`'s for this message.
    error InvalidSignature(address signer);
    /// @notice The signature's deadline has passed.
    error SignatureExpired(uint256 deadline);
    /// @notice The signature claims to be made in the future (`signedAt` > block time).
    error SignedInFuture(uint40 signedAt);
    /// @notice The deadline lies more than MAX_SIGNATURE_LIFETIME after `signedAt`.
    error SignatureLifetimeTooLong(uint40 signedAt, uint256 deadline);
    /// @notice The nonce was used or invalidated.
    error NonceAlreadyUsed(address signer, uint256 nonce);
    /// @notice The signer invalidated every signature made at or before `cutoff`.
    error SignatureInvalidated(address signer, uint40 signedAt, uint40 cutoff);
    /// @notice The grant was signed at or before the last revocation of the same consent.
    error GrantSignedBeforeRevoke(uint40 signedAt, uint40 revokedAt);
    /// @notice The access limits were signed at or before the brand's last change of them.
    error LimitsSignedBeforeLastChange(uint40 signedAt, uint40 changedAt);
    /// @notice A cutoff may only move forward and not beyond now.
    error InvalidCutoff(uint40 current, uint40 requested);
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
    /// @notice Only the brand itself or the RECORDER_ROLE may record the brand's access.
    error NotBrandOrRecorder(address caller, address brand);
    /// @notice An access batch must name at least one customer.
    error EmptyAccessBatch();
    /// @notice Two lists that must be as long as each other are not.
    error LengthMismatch(uint256 expected, uint256 given);
    /// @notice The distributor is not bound yet (`bindDistributor`), or is bound already.
    error DistributorNotBound();
    /// @notice `bindDistributor` may be called once, with a distributor made for this registry.
    error InvalidDistributor(address distributor);
    /// @notice The address is zero.
    error ZeroAddress();

    /// @notice The admin bound the RewardDistributor whose budgets recorded accesses reserve.
    event DistributorBound(address indexed distributor);
    /// @notice A brand was registered by the operator.
    event BrandRegistered(address indexed brand);
    /// @notice A brand was deregistered for good; its consents cover nothing any more (and its
    /// unreserved budget went back to it).
    event BrandDeregistered(address indexed brand);
    /// @notice A consent was granted or replaced. `signedAt` is the signature's time (block time for
    /// a direct grant); `nonce` is 0 for a direct grant.
    event ConsentGranted(
        address indexed customer,
        address indexed brand,
        uint8 indexed purpose,
        uint64 categories,
        uint40 expiresAt,
        uint96 price,
        bytes32 receiptHash,
        bytes32 noticeHash,
        uint40 signedAt,
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
    /// @notice A consent was revoked (or a revoke recorded where none was in force); it covers
    /// nothing from this block on, and no grant signed at or before `revokedAt` can take effect.
    event ConsentRevoked(
        address indexed customer, address indexed brand, uint8 indexed purpose, uint40 revokedAt, uint256 nonce
    );
    /// @notice `signer` invalidated the nonces of word `wordPos` set in `mask`.
    event NoncesInvalidated(address indexed signer, uint256 wordPos, uint256 mask);
    /// @notice `signer` invalidated every signature it made at or before `cutoff`.
    event SignaturesInvalidatedBefore(address indexed signer, uint40 cutoff);
    /// @notice `brand` set what the recorder may charge it (`nonce` 0 when set directly).
    event AccessLimitsSet(address indexed brand, uint96 allowance, uint96 maxPrice, uint256 nonce);
    /// @notice A brand accessed `categories` of each listed customer for `purpose`, at the listed
    /// prices; `total` was reserved in the brand's budget. Only recorded customers are listed.
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
    /// @notice Customers of the batch `requestId` that were NOT recorded nor charged, with why
    /// (`reasons[i]` is a SkipReason). Emitted only when at least one was skipped.
    event AccessSkipped(
        address indexed brand, uint8 indexed purpose, bytes32 indexed requestId, address[] customers, uint8[] reasons
    );

    /// @notice Binds the RewardDistributor (whose `registry()` must be this contract). Admin, once.
    function bindDistributor(address distributor) external;

    /// @notice Registers `brand` so customers can consent to it. Operator only.
    function registerBrand(address brand) external;

    /// @notice Deregisters `brand` for good. Operator only. Its consents stop covering accesses, the
    /// address cannot be registered again, and the distributor returns its unreserved budget to it.
    function deregisterBrand(address brand) external;

    /// @notice Whether `brand` is registered.
    function isBrand(address brand) external view returns (bool);

    /// @notice Whether `brand` was registered and then deregistered.
    function isRetired(address brand) external view returns (bool);

    /// @notice Grants (or replaces) a consent; the caller must be `terms.customer`. A direct grant
    /// is made now, so it always follows any earlier revoke.
    function grant(GrantTerms calldata terms) external;

    /// @notice Grants (or replaces) a consent signed by `terms.customer` (EIP-712 `Grant`).
    function grantBySig(GrantTerms calldata terms, SignatureTiming calldata timing, bytes calldata signature) external;

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
        SignatureTiming calldata timing,
        bytes calldata signature
    ) external;

    /// @notice Revokes a consent; the caller must be the customer. Works even when paused, and even
    /// when no consent is in force (it then only bars grants signed until now).
    function revoke(address customer, address brand, uint8 purpose) external;

    /// @notice Revokes a consent signed by the customer (EIP-712 `Revoke`). Works even when paused.
    function revokeBySig(
        address customer,
        address brand,
        uint8 purpose,
        SignatureTiming calldata timing,
        bytes calldata signature
    ) external;

    /// @notice Marks the caller's nonces `wordPos << 8 | bit` for every bit set in `mask` as used.
    function invalidateNonces(uint256 wordPos, uint256 mask) external;

    /// @notice Refuses from now on every signature of the caller made at or before `cutoff`
    /// (`cutoff` must be later than the current one and not in the future).
    function invalidateSignaturesBefore(uint40 cutoff) external;

    /// @notice Both invalidations above, signed by `signer` (EIP-712 `Invalidate`); `mask == 0` or
    /// `cutoff == 0` leaves that part alone. Works even when paused.
    function invalidateBySig(
        address signer,
        uint256 wordPos,
        uint256 mask,
        uint40 cutoff,
        SignatureTiming calldata timing,
        bytes calldata signature
    ) external;

    /// @notice The caller (a registered brand) sets what the recorder may charge it.
    function setAccessLimits(AccessLimits calldata limits) external;

    /// @notice Sets `brand`'s access limits by its EIP-712 `AccessLimits` signature (anyone relays).
    /// Refused if signed at or before the brand's last change of its limits.
    function setAccessLimitsBySig(
        address brand,
        AccessLimits calldata limits,
        SignatureTiming calldata timing,
        bytes calldata signature
    ) external;

    /// @notice Records that `brand` accessed `categories` of the covered customers in `customers`
    /// for `purpose`, each charged its consent's current price if that is at most `maxPrices[i]`
    /// (the price the brand agreed to for that customer). Never reverts because of one customer:
    /// customers not covered, priced above their maximum (or the brand's `maxPrice`), repeated in
    /// the batch, or beyond the remaining allowance or unreserved budget are skipped and listed in
    /// `AccessSkipped`. The recorded total is reserved in the brand's budget at the distributor and
    /// (when the caller is the recorder) taken from the brand's allowance.
    /// @dev Callable by the brand itself (its own `maxPrices` bound it; no allowance needed) or by
    /// the RECORDER_ROLE (bound by the brand's AccessLimits too).
    /// @return total The sum of the recorded customers' prices, now reserved.
    function recordAccess(
        address brand,
        uint8 purpose,
        uint64 categories,
        address[] calldata customers,
        uint96[] calldata maxPrices,
        bytes32 requestId
    ) external returns (uint256 total);

    /// @notice Whether `brand` may use `categories` of `customer` for `purpose` now.
    function covers(address customer, address brand, uint8 purpose, uint64 categories) external view returns (bool);

    /// @notice The consent stored for (customer, brand, purpose); zeroed if none.
    function consentOf(address customer, address brand, uint8 purpose) external view returns (Consent memory);

    /// @notice When (customer, brand, purpose) was last revoked (0 if never).
    function revokedAt(address customer, address brand, uint8 purpose) external view returns (uint40);

    /// @notice The nonce bitmap word `wordPos` of `signer` (bit set = nonce used or invalidated).
    function nonceBitmap(address signer, uint256 wordPos) external view returns (uint256);

    /// @notice Whether `signer`'s `nonce` is used or invalidated.
    function isNonceUsed(address signer, uint256 nonce) external view returns (bool);

    /// @notice Signatures of `signer` made at or before this time are refused (0 if none).
    function signedBeforeCutoff(address signer) external view returns (uint40);

    /// @notice `brand`'s access limits and when it last changed them.
    function accessLimitsOf(address brand) external view returns (AccessLimits memory limits, uint40 changedAt);

    /// @notice The bound RewardDistributor (zero before `bindDistributor`).
    function distributor() external view returns (address);

    /// @notice The longest a signature may stay relayable: `deadline <= signedAt + this`.
    function MAX_SIGNATURE_LIFETIME() external view returns (uint256);

    /// @notice The EIP-712 domain separator of this registry.
    function DOMAIN_SEPARATOR() external view returns (bytes32);

    /// @notice keccak256 of the EIP-712 `Grant` type string.
    function GRANT_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256 of the EIP-712 `Narrow` type string.
    function NARROW_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256 of the EIP-712 `Revoke` type string.
    function REVOKE_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256 of the EIP-712 `Invalidate` type string.
    function INVALIDATE_TYPEHASH() external view returns (bytes32);

    /// @notice keccak256 of the EIP-712 `AccessLimits` type string.
    function ACCESS_LIMITS_TYPEHASH() external view returns (bytes32);
}

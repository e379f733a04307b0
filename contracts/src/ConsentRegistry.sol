// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {
    AccessControlDefaultAdminRules
} from "@openzeppelin/contracts/access/extensions/AccessControlDefaultAdminRules.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";
import {IRewardDistributor} from "./interfaces/IRewardDistributor.sol";

/// @title ConsentRegistry
/// @notice Consents per (customer, brand, purpose), changed only by the customer, and the on-chain
/// log of every brand's access to customers' data, each access reserved in the brand's budget.
contract ConsentRegistry is IConsentRegistry, AccessControlDefaultAdminRules, Pausable, EIP712 {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    bytes32 public constant RECORDER_ROLE = keccak256("RECORDER_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    /// @inheritdoc IConsentRegistry
    uint256 public constant MAX_SIGNATURE_LIFETIME = 1 days;

    // The EIP-712 type strings; the test helper, the backend and the wallet page use the same.
    string private constant _GRANT_TYPE =
        "Grant(address customer,address brand,uint8 purpose,uint64 categories,uint40 expiresAt,uint96 price,bytes32 receiptHash,bytes32 noticeHash,uint40 signedAt,uint256 nonce,uint256 deadline)";
    string private constant _NARROW_TYPE =
        "Narrow(address customer,address brand,uint8 purpose,uint64 categories,uint40 expiresAt,uint40 signedAt,uint256 nonce,uint256 deadline)";
    string private constant _REVOKE_TYPE =
        "Revoke(address customer,address brand,uint8 purpose,uint40 signedAt,uint256 nonce,uint256 deadline)";
    string private constant _INVALIDATE_TYPE =
        "Invalidate(address signer,uint256 wordPos,uint256 mask,uint40 cutoff,uint40 signedAt,uint256 nonce,uint256 deadline)";
    string private constant _ACCESS_LIMITS_TYPE =
        "AccessLimits(address brand,uint96 allowance,uint96 maxPrice,uint40 signedAt,uint256 nonce,uint256 deadline)";

    /// @inheritdoc IConsentRegistry
    bytes32 public constant GRANT_TYPEHASH = keccak256(bytes(_GRANT_TYPE));
    /// @inheritdoc IConsentRegistry
    bytes32 public constant NARROW_TYPEHASH = keccak256(bytes(_NARROW_TYPE));
    /// @inheritdoc IConsentRegistry
    bytes32 public constant REVOKE_TYPEHASH = keccak256(bytes(_REVOKE_TYPE));
    /// @inheritdoc IConsentRegistry
    bytes32 public constant INVALIDATE_TYPEHASH = keccak256(bytes(_INVALIDATE_TYPE));
    /// @inheritdoc IConsentRegistry
    bytes32 public constant ACCESS_LIMITS_TYPEHASH = keccak256(bytes(_ACCESS_LIMITS_TYPE));

    // Transient slot counting the access batches of the current transaction; each customer's own
    // transient slot (its address) holds the number of the last batch that named it.
    bytes32 private constant _BATCH_SLOT = keccak256("ConsentRegistry.accessBatch");

    enum BrandStatus {
        Unknown,
        Registered,
        Retired
    }

    /// @dev One slot: read and written once per recorded batch.
    struct StoredLimits {
        uint96 allowance;
        uint96 maxPrice;
        uint40 changedAt;
    }

    mapping(address customer => mapping(address brand => mapping(uint8 purpose => Consent))) private _consents;
    mapping(address customer => mapping(address brand => mapping(uint8 purpose => uint40))) private _revokedAt;
    mapping(address signer => mapping(uint256 wordPos => uint256)) private _nonceBitmap;
    mapping(address signer => uint40) private _cutoffs;
    mapping(address brand => StoredLimits) private _limits;
    mapping(address brand => BrandStatus) private _brands;
    IRewardDistributor private _distributor;

    /// @param adminDelay Seconds a transfer of the admin role waits (AccessControlDefaultAdminRules).
    constructor(uint48 adminDelay, address admin, address operator, address recorder, address pauser)
        AccessControlDefaultAdminRules(adminDelay, admin)
        EIP712("ConsentRegistry", "1")
    {
        if (operator == address(0) || recorder == address(0) || pauser == address(0)) revert ZeroAddress();
        _grantRole(OPERATOR_ROLE, operator);
        _grantRole(RECORDER_ROLE, recorder);
        _grantRole(PAUSER_ROLE, pauser);
    }

    /// @inheritdoc IConsentRegistry
    function bindDistributor(address distributor_) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (distributor_ == address(0)) revert ZeroAddress();
        if (address(_distributor) != address(0) || IRewardDistributor(distributor_).registry() != address(this)) {
            revert InvalidDistributor(distributor_);
        }
        _distributor = IRewardDistributor(distributor_);
        emit DistributorBound(distributor_);
    }

    // ----------------------------------------------------------------------------------------
    // Brands
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IConsentRegistry
    function registerBrand(address brand) external onlyRole(OPERATOR_ROLE) {
        if (brand == address(0)) revert ZeroAddress();
        BrandStatus status = _brands[brand];
        if (status == BrandStatus.Registered) revert BrandAlreadyRegistered(brand);
        if (status == BrandStatus.Retired) revert BrandRetired(brand);
        _brands[brand] = BrandStatus.Registered;
        emit BrandRegistered(brand);
    }

    /// @inheritdoc IConsentRegistry
    function deregisterBrand(address brand) external onlyRole(OPERATOR_ROLE) {
        if (_brands[brand] != BrandStatus.Registered) revert BrandNotRegistered(brand);
        _brands[brand] = BrandStatus.Retired;
        emit BrandDeregistered(brand);
        IRewardDistributor distributor_ = _distributor;
        if (address(distributor_) != address(0)) distributor_.retireBrand(brand);
    }

    /// @inheritdoc IConsentRegistry
    function isBrand(address brand) external view returns (bool) {
        return _brands[brand] == BrandStatus.Registered;
    }

    /// @inheritdoc IConsentRegistry
    function isRetired(address brand) external view returns (bool) {
        return _brands[brand] == BrandStatus.Retired;
    }

    // ----------------------------------------------------------------------------------------
    // Consents
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IConsentRegistry
    function grant(GrantTerms calldata terms) external whenNotPaused {
        _requireSender(terms.customer);
        // forge-lint: disable-next-line(unsafe-typecast)
        _grant(terms, uint40(block.timestamp), 0); // a uint40 of seconds lasts 34,000 years
    }

    /// @inheritdoc IConsentRegistry
    function grantBySig(GrantTerms calldata terms, SignatureTiming calldata timing, bytes calldata signature)
        external
        whenNotPaused
    {
        // Two halves of static words concatenate to the same bytes as one abi.encode of all twelve.
        bytes32 structHash = keccak256(
            bytes.concat(
                abi.encode(
                    GRANT_TYPEHASH, terms.customer, terms.brand, terms.purpose, terms.categories, terms.expiresAt
                ),
                abi.encode(
                        terms.price, terms.receiptHash, terms.noticeHash, timing.signedAt, timing.nonce, timing.deadline
                    )
            )
        );
        _useSignature(terms.customer, structHash, timing, signature);
        uint40 revokedAt_ = _revokedAt[terms.customer][terms.brand][terms.purpose];
        if (timing.signedAt <= revokedAt_) revert GrantSignedBeforeRevoke(timing.signedAt, revokedAt_);
        _grant(terms, timing.signedAt, timing.nonce);
    }

    /// @inheritdoc IConsentRegistry
    function narrow(address customer, address brand, uint8 purpose, uint64 categories, uint40 expiresAt) external {
        _requireSender(customer);
        _narrow(customer, brand, purpose, categories, expiresAt, 0);
    }

    /// @inheritdoc IConsentRegistry
    function narrowBySig(
        address customer,
        address brand,
        uint8 purpose,
        uint64 categories,
        uint40 expiresAt,
        SignatureTiming calldata timing,
        bytes calldata signature
    ) external {
        bytes32 structHash = keccak256(
            abi.encode(
                NARROW_TYPEHASH,
                customer,
                brand,
                purpose,
                categories,
                expiresAt,
                timing.signedAt,
                timing.nonce,
                timing.deadline
            )
        );
        _useSignature(customer, structHash, timing, signature);
        _narrow(customer, brand, purpose, categories, expiresAt, timing.nonce);
    }

    /// @inheritdoc IConsentRegistry
    function revoke(address customer, address brand, uint8 purpose) external {
        _requireSender(customer);
        _revoke(customer, brand, purpose, 0);
    }

    /// @inheritdoc IConsentRegistry
    function revokeBySig(
        address customer,
        address brand,
        uint8 purpose,
        SignatureTiming calldata timing,
        bytes calldata signature
    ) external {
        bytes32 structHash = keccak256(
            abi.encode(REVOKE_TYPEHASH, customer, brand, purpose, timing.signedAt, timing.nonce, timing.deadline)
        );
        _useSignature(customer, structHash, timing, signature);
        _revoke(customer, brand, purpose, timing.nonce);
    }

    // ----------------------------------------------------------------------------------------
    // Signatures
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IConsentRegistry
    function invalidateNonces(uint256 wordPos, uint256 mask) external {
        _invalidateNonces(msg.sender, wordPos, mask);
    }

    /// @inheritdoc IConsentRegistry
    function invalidateSignaturesBefore(uint40 cutoff) external {
        _invalidateBefore(msg.sender, cutoff);
    }

    /// @inheritdoc IConsentRegistry
    function invalidateBySig(
        address signer,
        uint256 wordPos,
        uint256 mask,
        uint40 cutoff,
        SignatureTiming calldata timing,
        bytes calldata signature
    ) external {
        bytes32 structHash = keccak256(
            abi.encode(
                INVALIDATE_TYPEHASH, signer, wordPos, mask, cutoff, timing.signedAt, timing.nonce, timing.deadline
            )
        );
        _useSignature(signer, structHash, timing, signature);
        if (mask != 0) _invalidateNonces(signer, wordPos, mask);
        if (cutoff != 0) _invalidateBefore(signer, cutoff);
    }

    // ----------------------------------------------------------------------------------------
    // Access limits and accesses
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IConsentRegistry
    function setAccessLimits(AccessLimits calldata limits) external whenNotPaused {
        if (_brands[msg.sender] != BrandStatus.Registered) revert NotBrand(msg.sender);
        _setLimits(msg.sender, limits, 0);
    }

    /// @inheritdoc IConsentRegistry
    function setAccessLimitsBySig(
        address brand,
        AccessLimits calldata limits,
        SignatureTiming calldata timing,
        bytes calldata signature
    ) external whenNotPaused {
        if (_brands[brand] != BrandStatus.Registered) revert NotBrand(brand);
        bytes32 structHash = keccak256(
            abi.encode(
                ACCESS_LIMITS_TYPEHASH,
                brand,
                limits.allowance,
                limits.maxPrice,
                timing.signedAt,
                timing.nonce,
                timing.deadline
            )
        );
        _useSignature(brand, structHash, timing, signature);
        // A later change by the brand, however made, wins over limits it had signed before it.
        uint40 changedAt = _limits[brand].changedAt;
        if (timing.signedAt <= changedAt) revert LimitsSignedBeforeLastChange(timing.signedAt, changedAt);
        _setLimits(brand, limits, timing.nonce);
    }

    /// @inheritdoc IConsentRegistry
    function recordAccess(
        address brand,
        uint8 purpose,
        uint64 categories,
        address[] calldata customers,
        uint96[] calldata maxPrices,
        bytes32 requestId
    ) external whenNotPaused returns (uint256 total) {
        bool byRecorder = msg.sender != brand;
        if (byRecorder && !hasRole(RECORDER_ROLE, msg.sender)) revert NotBrandOrRecorder(msg.sender, brand);
        if (_brands[brand] != BrandStatus.Registered) revert BrandNotRegistered(brand);
        if (categories == 0) revert EmptyCategories();
        uint256 n = customers.length;
        if (n == 0) revert EmptyAccessBatch();
        if (maxPrices.length != n) revert LengthMismatch(n, maxPrices.length);
        IRewardDistributor distributor_ = _distributor;
        if (address(distributor_) == address(0)) revert DistributorNotBound();

        Batch memory b = _newBatch(n);
        // What the batch may charge in all (the allowance bounds it before the budget does, so
        // its reason is reported first), and at most per customer.
        b.cap = distributor_.availableOf(brand);
        b.allowanceCap = type(uint256).max;
        b.brandMax = type(uint96).max;
        StoredLimits storage limits = _limits[brand];
        if (byRecorder) {
            b.allowanceCap = limits.allowance;
            b.brandMax = limits.maxPrice;
            if (b.allowanceCap < b.cap) b.cap = b.allowanceCap;
        }
        (b.brand, b.purpose, b.categories) = (brand, purpose, categories);
        total = _collect(b, customers, maxPrices);
        _emitBatch(b, brand, purpose, categories, requestId, total);
        if (total != 0) {
            // forge-lint: disable-next-line(unsafe-typecast)
            if (byRecorder) limits.allowance -= uint96(total); // total <= allowance < 2^96, checked in _collect
            distributor_.reserve(brand, total);
        }
    }

    // ----------------------------------------------------------------------------------------
    // Views
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IConsentRegistry
    function covers(address customer, address brand, uint8 purpose, uint64 categories) external view returns (bool) {
        if (categories == 0 || _brands[brand] != BrandStatus.Registered) return false;
        Consent storage c = _consents[customer][brand][purpose];
        return c.categories & categories == categories && (c.expiresAt == 0 || c.expiresAt > block.timestamp);
    }

    /// @inheritdoc IConsentRegistry
    function consentOf(address customer, address brand, uint8 purpose) external view returns (Consent memory) {
        return _consents[customer][brand][purpose];
    }

    /// @inheritdoc IConsentRegistry
    function revokedAt(address customer, address brand, uint8 purpose) external view returns (uint40) {
        return _revokedAt[customer][brand][purpose];
    }

    /// @inheritdoc IConsentRegistry
    function nonceBitmap(address signer, uint256 wordPos) external view returns (uint256) {
        return _nonceBitmap[signer][wordPos];
    }

    /// @inheritdoc IConsentRegistry
    function isNonceUsed(address signer, uint256 nonce) external view returns (bool) {
        return _nonceBitmap[signer][nonce >> 8] & (1 << (nonce & 0xff)) != 0;
    }

    /// @inheritdoc IConsentRegistry
    function signedBeforeCutoff(address signer) external view returns (uint40) {
        return _cutoffs[signer];
    }

    /// @inheritdoc IConsentRegistry
    function accessLimitsOf(address brand) external view returns (AccessLimits memory limits, uint40 changedAt) {
        StoredLimits storage s = _limits[brand];
        return (AccessLimits({allowance: s.allowance, maxPrice: s.maxPrice}), s.changedAt);
    }

    /// @inheritdoc IConsentRegistry
    function distributor() external view returns (address) {
        return address(_distributor);
    }

    /// @inheritdoc IConsentRegistry
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice Stops grants, access limits and access recording. Narrowings, revocations and
    /// invalidations keep working: withdrawing consent must never be blocked.
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @notice Lifts a pause.
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }

    // ----------------------------------------------------------------------------------------
    // Internal
    // ----------------------------------------------------------------------------------------

    /// @dev The batch being recorded: recorded customers with their prices, skipped ones with why.
    struct Batch {
        address brand;
        uint8 purpose;
        uint64 categories;
        uint256 marker;
        uint256 cap;
        uint256 allowanceCap;
        uint256 brandMax;
        uint256 nRecorded;
        uint256 nSkipped;
        address[] recorded;
        uint96[] prices;
        address[] skipped;
        uint8[] reasons;
    }

    function _newBatch(uint256 n) private returns (Batch memory b) {
        bytes32 slot = _BATCH_SLOT;
        uint256 marker;
        assembly ("memory-safe") {
            marker := add(tload(slot), 1)
            tstore(slot, marker)
        }
        b.marker = marker;
        b.recorded = new address[](n);
        b.prices = new uint96[](n);
        b.skipped = new address[](n);
        b.reasons = new uint8[](n);
    }

    /// @dev Marks `customer` as seen in batch `marker`; false if it already was (a duplicate).
    function _firstInBatch(address customer, uint256 marker) private returns (bool first) {
        assembly ("memory-safe") {
            first := iszero(eq(tload(customer), marker))
            tstore(customer, marker)
        }
    }

    /// @dev Sorts the batch's customers into recorded (charged their current price) and skipped.
    function _collect(Batch memory b, address[] calldata customers, uint96[] calldata maxPrices)
        private
        returns (uint256 total)
    {
        uint256 n = customers.length;
        for (uint256 i; i < n; ++i) {
            address customer = customers[i];
            if (!_firstInBatch(customer, b.marker)) {
                _skip(b, customer, SkipReason.Duplicate);
                continue;
            }
            (bool covered, uint96 price) = _coveredPrice(_consents[customer][b.brand][b.purpose], b.categories);
            if (!covered) {
                _skip(b, customer, SkipReason.NotCovered);
            } else if (price > maxPrices[i] || price > b.brandMax) {
                _skip(b, customer, SkipReason.PriceAboveMaximum);
            } else if (total + price > b.cap) {
                _skip(b, customer, total + price > b.allowanceCap ? SkipReason.OverAllowance : SkipReason.OverBudget);
            } else {
                uint256 k = b.nRecorded;
                b.recorded[k] = customer;
                b.prices[k] = price;
                // Cannot overflow: total + price <= cap < 2^256 was just checked; k < n.
                unchecked {
                    b.nRecorded = k + 1;
                    total += price;
                }
            }
        }
    }

    /// @dev Whether the consent covers `categories` now, and its price. One SLOAD: categories,
    /// expiry and price share the consent's first slot.
    function _coveredPrice(Consent storage c, uint64 categories) private view returns (bool covered, uint96 price) {
        uint64 granted = c.categories;
        uint40 expiresAt = c.expiresAt;
        price = c.price;
        covered = granted & categories == categories && (expiresAt == 0 || expiresAt > block.timestamp);
    }

    function _skip(Batch memory b, address customer, SkipReason reason) private pure {
        b.skipped[b.nSkipped] = customer;
        b.reasons[b.nSkipped] = uint8(reason);
        // Cannot overflow: at most one entry per customer of the batch.
        unchecked {
            ++b.nSkipped;
        }
    }

    function _emitBatch(
        Batch memory b,
        address brand,
        uint8 purpose,
        uint64 categories,
        bytes32 requestId,
        uint256 total
    ) private {
        address[] memory recorded = b.recorded;
        uint96[] memory prices = b.prices;
        address[] memory skipped = b.skipped;
        uint8[] memory reasons = b.reasons;
        (uint256 nRecorded, uint256 nSkipped) = (b.nRecorded, b.nSkipped);
        // Shortening arrays in place: the lengths only decrease, the memory stays allocated.
        assembly ("memory-safe") {
            mstore(recorded, nRecorded)
            mstore(prices, nRecorded)
            mstore(skipped, nSkipped)
            mstore(reasons, nSkipped)
        }
        emit AccessRecorded(brand, purpose, requestId, categories, recorded, prices, total);
        if (nSkipped != 0) emit AccessSkipped(brand, purpose, requestId, skipped, reasons);
    }

    function _grant(GrantTerms calldata terms, uint40 signedAt, uint256 nonce) private {
        if (_brands[terms.brand] != BrandStatus.Registered) revert BrandNotRegistered(terms.brand);
        if (terms.categories == 0) revert EmptyCategories();
        if (terms.expiresAt != 0 && terms.expiresAt <= block.timestamp) revert ExpiryInPast(terms.expiresAt);
        _consents[terms.customer][terms.brand][terms.purpose] = Consent({
            categories: terms.categories,
            // forge-lint: disable-next-line(unsafe-typecast)
            grantedAt: uint40(block.timestamp), // a uint40 of seconds lasts 34,000 years
            expiresAt: terms.expiresAt,
            price: terms.price,
            receiptHash: terms.receiptHash,
            noticeHash: terms.noticeHash
        });
        emit ConsentGranted(
            terms.customer,
            terms.brand,
            terms.purpose,
            terms.categories,
            terms.expiresAt,
            terms.price,
            terms.receiptHash,
            terms.noticeHash,
            signedAt,
            nonce
        );
    }

    function _narrow(address customer, address brand, uint8 purpose, uint64 categories, uint40 expiresAt, uint256 nonce)
        private
    {
        Consent storage c = _consents[customer][brand][purpose];
        uint64 current = c.categories;
        if (current == 0) revert ConsentNotFound(customer, brand, purpose);
        if (categories == 0) revert EmptyCategories();
        uint40 currentExpiry = c.expiresAt;
        // A narrowing only takes away: a subset of categories, and an expiry no later than now's.
        bool extends = currentExpiry != 0 && (expiresAt == 0 || expiresAt > currentExpiry);
        if (categories & current != categories || extends) {
            revert NotANarrowing(current, categories, currentExpiry, expiresAt);
        }
        if (expiresAt != 0 && expiresAt <= block.timestamp) revert ExpiryInPast(expiresAt);
        c.categories = categories;
        c.expiresAt = expiresAt;
        emit ConsentNarrowed(customer, brand, purpose, categories, expiresAt, nonce);
    }

    /// @dev Never reverts for a missing consent: a revoke must also bar grants signed earlier and
    /// not sent yet, whether or not a consent is in force.
    function _revoke(address customer, address brand, uint8 purpose, uint256 nonce) private {
        // forge-lint: disable-next-line(unsafe-typecast)
        uint40 now_ = uint40(block.timestamp); // a uint40 of seconds lasts 34,000 years
        _revokedAt[customer][brand][purpose] = now_;
        if (_consents[customer][brand][purpose].categories != 0) delete _consents[customer][brand][purpose];
        emit ConsentRevoked(customer, brand, purpose, now_, nonce);
    }

    function _setLimits(address brand, AccessLimits calldata limits, uint256 nonce) private {
        _limits[brand] = StoredLimits({
            allowance: limits.allowance,
            maxPrice: limits.maxPrice,
            // forge-lint: disable-next-line(unsafe-typecast)
            changedAt: uint40(block.timestamp) // a uint40 of seconds lasts 34,000 years
        });
        emit AccessLimitsSet(brand, limits.allowance, limits.maxPrice, nonce);
    }

    function _invalidateNonces(address signer, uint256 wordPos, uint256 mask) private {
        _nonceBitmap[signer][wordPos] |= mask;
        emit NoncesInvalidated(signer, wordPos, mask);
    }

    function _invalidateBefore(address signer, uint40 cutoff) private {
        uint40 current = _cutoffs[signer];
        if (cutoff <= current || cutoff > block.timestamp) revert InvalidCutoff(current, cutoff);
        _cutoffs[signer] = cutoff;
        emit SignaturesInvalidatedBefore(signer, cutoff);
    }

    function _requireSender(address customer) private view {
        if (msg.sender != customer) revert NotCustomer(msg.sender, customer);
    }

    /// @dev Checks a signature's timing, spends its nonce, then checks the signature itself.
    function _useSignature(
        address signer,
        bytes32 structHash,
        SignatureTiming calldata timing,
        bytes calldata signature
    ) private {
        uint40 signedAt = timing.signedAt;
        if (signedAt > block.timestamp) revert SignedInFuture(signedAt);
        if (timing.deadline > uint256(signedAt) + MAX_SIGNATURE_LIFETIME) {
            revert SignatureLifetimeTooLong(signedAt, timing.deadline);
        }
        if (block.timestamp > timing.deadline) revert SignatureExpired(timing.deadline);
        uint40 cutoff = _cutoffs[signer];
        if (signedAt <= cutoff) revert SignatureInvalidated(signer, signedAt, cutoff);
        uint256 bit = 1 << (timing.nonce & 0xff);
        mapping(uint256 => uint256) storage bitmap = _nonceBitmap[signer];
        uint256 word = bitmap[timing.nonce >> 8];
        if (word & bit != 0) revert NonceAlreadyUsed(signer, timing.nonce);
        bitmap[timing.nonce >> 8] = word | bit;
        if (!SignatureChecker.isValidSignatureNow(signer, _hashTypedDataV4(structHash), signature)) {
            revert InvalidSignature(signer);
        }
    }
}

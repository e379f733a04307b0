// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IConsentRegistry} from "./interfaces/IConsentRegistry.sol";

/// @title ConsentRegistry
/// @notice Consents per (customer, brand, purpose), changed only by the customer, and the on-chain
/// log of every brand's access to customers' data.
contract ConsentRegistry is IConsentRegistry, AccessControl, Pausable, EIP712 {
    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");
    bytes32 public constant RELAYER_ROLE = keccak256("RELAYER_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");

    // The EIP-712 type strings; the test helper, the backend and the wallet page use the same.
    string private constant _GRANT_TYPE =
        "Grant(address customer,address brand,uint8 purpose,uint64 categories,uint40 expiresAt,uint96 price,bytes32 receiptHash,bytes32 noticeHash,uint256 nonce,uint256 deadline)";
    string private constant _NARROW_TYPE =
        "Narrow(address customer,address brand,uint8 purpose,uint64 categories,uint40 expiresAt,uint256 nonce,uint256 deadline)";
    string private constant _REVOKE_TYPE =
        "Revoke(address customer,address brand,uint8 purpose,uint256 nonce,uint256 deadline)";

    /// @inheritdoc IConsentRegistry
    bytes32 public constant GRANT_TYPEHASH = keccak256(bytes(_GRANT_TYPE));
    /// @inheritdoc IConsentRegistry
    bytes32 public constant NARROW_TYPEHASH = keccak256(bytes(_NARROW_TYPE));
    /// @inheritdoc IConsentRegistry
    bytes32 public constant REVOKE_TYPEHASH = keccak256(bytes(_REVOKE_TYPE));

    mapping(address customer => mapping(address brand => mapping(uint8 purpose => Consent))) private _consents;
    mapping(address customer => uint256) private _nonces;
    enum BrandStatus {
        Unknown,
        Registered,
        Retired
    }

    mapping(address brand => BrandStatus) private _brands;

    constructor(address admin) EIP712("ConsentRegistry", "1") {
        if (admin == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, admin);
        _grantRole(RELAYER_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
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
    }

    /// @inheritdoc IConsentRegistry
    function isBrand(address brand) external view returns (bool) {
        return _brands[brand] == BrandStatus.Registered;
    }

    // ----------------------------------------------------------------------------------------
    // Consents
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IConsentRegistry
    function grant(GrantTerms calldata terms) external whenNotPaused {
        _requireCustomer(terms.customer);
        _grant(terms, _useNonce(terms.customer));
    }

    /// @inheritdoc IConsentRegistry
    function grantBySig(GrantTerms calldata terms, uint256 deadline, bytes calldata signature) external whenNotPaused {
        uint256 nonce = _useNonce(terms.customer);
        bytes32 structHash = keccak256(
            abi.encode(
                GRANT_TYPEHASH,
                terms.customer,
                terms.brand,
                terms.purpose,
                terms.categories,
                terms.expiresAt,
                terms.price,
                terms.receiptHash,
                terms.noticeHash,
                nonce,
                deadline
            )
        );
        _checkSignature(terms.customer, structHash, deadline, signature);
        _grant(terms, nonce);
    }

    /// @inheritdoc IConsentRegistry
    function narrow(address customer, address brand, uint8 purpose, uint64 categories, uint40 expiresAt) external {
        _requireCustomer(customer);
        _narrow(customer, brand, purpose, categories, expiresAt, _useNonce(customer));
    }

    /// @inheritdoc IConsentRegistry
    function narrowBySig(
        address customer,
        address brand,
        uint8 purpose,
        uint64 categories,
        uint40 expiresAt,
        uint256 deadline,
        bytes calldata signature
    ) external {
        uint256 nonce = _useNonce(customer);
        bytes32 structHash =
            keccak256(abi.encode(NARROW_TYPEHASH, customer, brand, purpose, categories, expiresAt, nonce, deadline));
        _checkSignature(customer, structHash, deadline, signature);
        _narrow(customer, brand, purpose, categories, expiresAt, nonce);
    }

    /// @inheritdoc IConsentRegistry
    function revoke(address customer, address brand, uint8 purpose) external {
        _requireCustomer(customer);
        _revoke(customer, brand, purpose, _useNonce(customer));
    }

    /// @inheritdoc IConsentRegistry
    function revokeBySig(address customer, address brand, uint8 purpose, uint256 deadline, bytes calldata signature)
        external
    {
        uint256 nonce = _useNonce(customer);
        bytes32 structHash = keccak256(abi.encode(REVOKE_TYPEHASH, customer, brand, purpose, nonce, deadline));
        _checkSignature(customer, structHash, deadline, signature);
        _revoke(customer, brand, purpose, nonce);
    }

    // ----------------------------------------------------------------------------------------
    // Accesses
    // ----------------------------------------------------------------------------------------

    /// @inheritdoc IConsentRegistry
    function recordAccess(
        address brand,
        uint8 purpose,
        uint64 categories,
        address[] calldata customers,
        bytes32 requestId
    ) external whenNotPaused returns (uint256 total) {
        if (msg.sender != brand && !hasRole(RELAYER_ROLE, msg.sender)) {
            revert NotBrandOrRelayer(msg.sender, brand);
        }
        if (_brands[brand] != BrandStatus.Registered) revert BrandNotRegistered(brand);
        if (categories == 0) revert EmptyCategories();
        uint256 n = customers.length;
        if (n == 0) revert EmptyAccessBatch();

        uint96[] memory prices = new uint96[](n);
        for (uint256 i; i < n; ++i) {
            address customer = customers[i];
            // One SLOAD: categories, expiry and price share the consent's first slot.
            Consent storage c = _consents[customer][brand][purpose];
            uint64 granted = c.categories;
            uint40 expiresAt = c.expiresAt;
            if (granted & categories != categories || (expiresAt != 0 && expiresAt <= block.timestamp)) {
                revert ConsentNotCovering(customer, brand, purpose, categories);
            }
            uint96 price = c.price;
            prices[i] = price;
            // Cannot overflow: at most 2^256 / 2^96 customers would be needed.
            unchecked {
                total += price;
            }
        }
        emit AccessRecorded(brand, purpose, requestId, categories, customers, prices, total);
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
    function nonces(address customer) external view returns (uint256) {
        return _nonces[customer];
    }

    /// @inheritdoc IConsentRegistry
    // solhint-disable-next-line func-name-mixedcase
    function DOMAIN_SEPARATOR() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    /// @notice Stops grants and access recording. Narrowings and revocations keep working:
    /// withdrawing consent must never be blocked.
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

    function _grant(GrantTerms calldata terms, uint256 nonce) private {
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

    function _revoke(address customer, address brand, uint8 purpose, uint256 nonce) private {
        if (_consents[customer][brand][purpose].categories == 0) revert ConsentNotFound(customer, brand, purpose);
        delete _consents[customer][brand][purpose];
        emit ConsentRevoked(customer, brand, purpose, nonce);
    }

    function _requireCustomer(address customer) private view {
        if (msg.sender != customer) revert NotCustomer(msg.sender, customer);
    }

    function _useNonce(address customer) private returns (uint256 nonce) {
        // Cannot overflow: one signature per nonce, 2^256 of them will never be made.
        unchecked {
            nonce = _nonces[customer]++;
        }
    }

    function _checkSignature(address customer, bytes32 structHash, uint256 deadline, bytes calldata signature)
        private
        view
    {
        if (block.timestamp > deadline) revert SignatureExpired(deadline);
        if (!SignatureChecker.isValidSignatureNow(customer, _hashTypedDataV4(structHash), signature)) {
            revert InvalidSignature(customer);
        }
    }
}

// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title IPaymentRouter
/// @notice Customers spend CASH at brands in one relayed transaction: an EIP-2612
/// permit (the token lets this router move `amount`) plus a Payment signature binding the brand,
/// the amount and the payment reference (`paymentRef`) to that permit, then `transferFrom` payer → brand.
/// @dev The permit alone names only the spender (this router), so whoever submitted it could
/// choose the recipient: the Payment signature (EIP-712, domain "PaymentRouter" / "1") fixes the
/// brand and reference, and its `nonce` is the payer's token permit nonce at signing, so it is good
/// for exactly one permit. Signatures are ECDSA only, as OpenZeppelin's ERC20Permit verifies them.
/// The router does not ask the ConsentRegistry whether the recipient is a registered brand: a
/// payment moves only the payer's own CASH to the address the payer signed for (as a transfer
/// would), so that check protects no one on chain; the API refuses unknown brands before relaying,
/// and the check's two cold reads (about 5,000 gas) would break the 60,000 gas goal of a payment.
interface IPaymentRouter {
    /// @notice What the payer signs: pay `amount` CASH to `brand` for `paymentRef` (a purchase or
    /// catalogue item hash) with the permit of nonce `nonce`, at the latest at `deadline`.
    struct Payment {
        address payer;
        address brand;
        uint256 amount;
        bytes32 paymentRef;
        uint256 nonce;
        uint256 deadline;
    }

    /// @notice The EIP-2612 permit's signature (same `amount` and `deadline` as the Payment).
    struct PermitSignature {
        uint8 v;
        bytes32 r;
        bytes32 s;
    }

    /// @notice A payment of nothing.
    error ZeroAmount();
    /// @notice The payment's deadline has passed.
    error PaymentExpired(uint256 deadline);
    /// @notice The Payment signature was not made by `payer`.
    error InvalidPaymentSignature(address payer);
    /// @notice The Payment was signed for another permit nonce than the payer's current one.
    error PaymentNonceMismatch(uint256 expected, uint256 signed);
    /// @notice A zero address given to the constructor.
    error ZeroAddress();

    /// @notice `payer` paid `amount` CASH to `brand` for `paymentRef`.
    event Paid(address indexed payer, address indexed brand, uint256 amount, bytes32 indexed paymentRef);

    /// @notice Uses the payer's permit and pays the brand. Anyone may relay; the payer pays no gas.
    function pay(Payment calldata payment, PermitSignature calldata permit, bytes calldata paymentSignature) external;

    /// @notice The EIP-712 digest the payer signs for `payment` (for wallets and tests).
    function paymentDigest(Payment calldata payment) external view returns (bytes32);

    /// @notice CASH.
    function token() external view returns (address);
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SignatureChecker} from "@openzeppelin/contracts/utils/cryptography/SignatureChecker.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IPaymentRouter} from "./interfaces/IPaymentRouter.sol";

/// @title PaymentRouter
/// @notice Permit-and-pay: a customer's CASH to a brand in one relayed transaction.
contract PaymentRouter is IPaymentRouter, EIP712 {
    using SafeERC20 for IERC20;

    string private constant _PAYMENT_TYPE =
        "Payment(address payer,address brand,uint256 amount,bytes32 paymentRef,uint256 nonce,uint256 deadline)";
    bytes32 public constant PAYMENT_TYPEHASH = keccak256(bytes(_PAYMENT_TYPE));

    IERC20 private immutable _TOKEN;

    constructor(address token_) EIP712("PaymentRouter", "1") {
        if (token_ == address(0)) revert ZeroAddress();
        _TOKEN = IERC20(token_);
    }

    /// @inheritdoc IPaymentRouter
    function pay(Payment calldata payment, PermitSignature calldata permit, bytes calldata paymentSignature) external {
        if (payment.amount == 0) revert ZeroAmount();
        if (block.timestamp > payment.deadline) revert PaymentExpired(payment.deadline);
        // An ERC-1271 payer would pass here, but its permit cannot (ERC20Permit checks ECDSA only).
        if (!SignatureChecker.isValidSignatureNow(payment.payer, paymentDigest(payment), paymentSignature)) {
            revert InvalidPaymentSignature(payment.payer);
        }
        uint256 nonce = IERC20Permit(address(_TOKEN)).nonces(payment.payer);
        if (nonce != payment.nonce) revert PaymentNonceMismatch(nonce, payment.nonce);
        IERC20Permit(address(_TOKEN))
            .permit(payment.payer, address(this), payment.amount, payment.deadline, permit.v, permit.r, permit.s);
        // `from` is the payer whose own Payment signature (checked above) names this brand and amount, and whose
        // permit for exactly that amount was just used: nobody else's CASH can move here.
        // slither-disable-next-line arbitrary-send-erc20-permit
        _TOKEN.safeTransferFrom(payment.payer, payment.brand, payment.amount);
        emit Paid(payment.payer, payment.brand, payment.amount, payment.paymentRef);
    }

    /// @inheritdoc IPaymentRouter
    function paymentDigest(Payment calldata payment) public view returns (bytes32) {
        return _hashTypedDataV4(
            keccak256(
                abi.encode(
                    PAYMENT_TYPEHASH,
                    payment.payer,
                    payment.brand,
                    payment.amount,
                    payment.paymentRef,
                    payment.nonce,
                    payment.deadline
                )
            )
        );
    }

    /// @inheritdoc IPaymentRouter
    function token() external view returns (address) {
        return address(_TOKEN);
    }
}

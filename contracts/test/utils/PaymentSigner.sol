// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Vm} from "forge-std/Vm.sol";
import {CashbackToken} from "../../src/CashbackToken.sol";
import {PaymentRouter} from "../../src/PaymentRouter.sol";
import {IPaymentRouter} from "../../src/interfaces/IPaymentRouter.sol";

/// @notice Signs what a wallet signs to pay with CASH: the EIP-2612 permit and the router's Payment.
abstract contract PaymentSigner {
    Vm private constant _VM = Vm(address(uint160(uint256(keccak256("hevm cheat code")))));
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    /// @dev The payment for the payer's current permit nonce.
    function _payment(CashbackToken cash, address payer, address brand, uint256 amount, bytes32 ref, uint256 deadline)
        internal
        view
        returns (IPaymentRouter.Payment memory)
    {
        return IPaymentRouter.Payment({
            payer: payer, brand: brand, amount: amount, paymentRef: ref, nonce: cash.nonces(payer), deadline: deadline
        });
    }

    function _signPermit(CashbackToken cash, PaymentRouter router, uint256 key, IPaymentRouter.Payment memory p)
        internal
        view
        returns (IPaymentRouter.PermitSignature memory sig)
    {
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, p.payer, address(router), p.amount, p.nonce, p.deadline));
        (sig.v, sig.r, sig.s) =
            _VM.sign(key, keccak256(abi.encodePacked("\x19\x01", cash.DOMAIN_SEPARATOR(), structHash)));
    }

    function _signPayment(PaymentRouter router, uint256 key, IPaymentRouter.Payment memory p)
        internal
        view
        returns (bytes memory)
    {
        (uint8 v, bytes32 r, bytes32 s) = _VM.sign(key, router.paymentDigest(p));
        return abi.encodePacked(r, s, v);
    }
}

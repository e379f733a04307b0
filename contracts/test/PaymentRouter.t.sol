// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {PaymentRouter} from "../src/PaymentRouter.sol";
import {IPaymentRouter} from "../src/interfaces/IPaymentRouter.sol";
import {Deployment} from "./utils/Deployment.sol";
import {PaymentSigner} from "./utils/PaymentSigner.sol";

/// @notice Permit-and-pay: CASH from a customer to a brand, relayed, bound by signature.
contract PaymentRouterTest is Deployment, PaymentSigner {
    PaymentRouter internal router;
    address internal brand = makeAddr("brand");
    address internal other = makeAddr("otherBrand");
    address internal relayer = makeAddr("relayer");
    address internal payer;
    uint256 internal payerKey;
    bytes32 internal constant REF = keccak256("purchase:P-1");

    function setUp() public {
        vm.warp(1_750_000_000);
        _deploy();
        router = new PaymentRouter(address(cash));
        _onboard(brand, 1000e18, 10);
        _onboard(other, 0, 10);
        (payer, payerKey) = makeAddrAndKey("payer");
        vm.prank(brand);
        distributor.withdraw(100e18, payer);
    }

    function _signed(uint256 amount, uint256 deadline)
        internal
        view
        returns (IPaymentRouter.Payment memory p, IPaymentRouter.PermitSignature memory permit, bytes memory sig)
    {
        p = _payment(cash, payer, brand, amount, REF, deadline);
        permit = _signPermit(cash, router, payerKey, p);
        sig = _signPayment(router, payerKey, p);
    }

    function test_pay_MovesCashToTheBrandAndEmitsPaid() public {
        (IPaymentRouter.Payment memory p, IPaymentRouter.PermitSignature memory permit, bytes memory sig) =
            _signed(30e18, block.timestamp + 1 hours);
        vm.expectEmit(address(router));
        emit IPaymentRouter.Paid(payer, brand, 30e18, REF);
        vm.prank(relayer);
        router.pay(p, permit, sig);
        assertEq(cash.balanceOf(payer), 70e18);
        assertEq(cash.balanceOf(brand), 30e18);
        assertEq(cash.allowance(payer, address(router)), 0);
        assertEq(cash.nonces(payer), 1);
    }

    function test_pay_BrandDepositsWhatItReceivedIntoItsBudget() public {
        (IPaymentRouter.Payment memory p, IPaymentRouter.PermitSignature memory permit, bytes memory sig) =
            _signed(30e18, block.timestamp + 1 hours);
        router.pay(p, permit, sig);
        uint256 budget = distributor.budgetOf(brand);
        vm.startPrank(brand);
        cash.approve(address(distributor), 30e18);
        distributor.deposit(brand, 30e18);
        vm.stopPrank();
        assertEq(distributor.budgetOf(brand), budget + 30e18);
    }

    function test_RevertWhen_pay_Replayed() public {
        (IPaymentRouter.Payment memory p, IPaymentRouter.PermitSignature memory permit, bytes memory sig) =
            _signed(30e18, block.timestamp + 1 hours);
        router.pay(p, permit, sig);
        vm.expectRevert(abi.encodeWithSelector(IPaymentRouter.PaymentNonceMismatch.selector, 1, 0));
        router.pay(p, permit, sig);
    }

    function test_RevertWhen_pay_PastDeadline() public {
        (IPaymentRouter.Payment memory p, IPaymentRouter.PermitSignature memory permit, bytes memory sig) =
            _signed(30e18, block.timestamp + 1 hours);
        vm.warp(block.timestamp + 1 hours + 1);
        vm.expectRevert(abi.encodeWithSelector(IPaymentRouter.PaymentExpired.selector, p.deadline));
        router.pay(p, permit, sig);
    }

    function test_RevertWhen_pay_RelayerRedirectsToAnotherBrand() public {
        (IPaymentRouter.Payment memory p, IPaymentRouter.PermitSignature memory permit, bytes memory sig) =
            _signed(30e18, block.timestamp + 1 hours);
        p.brand = other;
        vm.expectRevert(abi.encodeWithSelector(IPaymentRouter.InvalidPaymentSignature.selector, payer));
        router.pay(p, permit, sig);
    }

    function test_RevertWhen_pay_AmountChanged() public {
        (IPaymentRouter.Payment memory p, IPaymentRouter.PermitSignature memory permit, bytes memory sig) =
            _signed(30e18, block.timestamp + 1 hours);
        p.amount = 31e18;
        vm.expectRevert(abi.encodeWithSelector(IPaymentRouter.InvalidPaymentSignature.selector, payer));
        router.pay(p, permit, sig);
    }

    function test_RevertWhen_pay_PermitForAnotherAmount() public {
        IPaymentRouter.Payment memory p = _payment(cash, payer, brand, 30e18, REF, block.timestamp + 1 hours);
        IPaymentRouter.Payment memory q = _payment(cash, payer, brand, 40e18, REF, block.timestamp + 1 hours);
        IPaymentRouter.PermitSignature memory permit = _signPermit(cash, router, payerKey, q);
        bytes memory sig = _signPayment(router, payerKey, p);
        vm.expectPartialRevert(ERC20Permit.ERC2612InvalidSigner.selector);
        router.pay(p, permit, sig);
    }

    function test_RevertWhen_pay_SignedByAnotherKey() public {
        (, uint256 strangerKey) = makeAddrAndKey("stranger");
        IPaymentRouter.Payment memory p = _payment(cash, payer, brand, 30e18, REF, block.timestamp + 1 hours);
        IPaymentRouter.PermitSignature memory permit = _signPermit(cash, router, payerKey, p);
        bytes memory sig = _signPayment(router, strangerKey, p);
        vm.expectRevert(abi.encodeWithSelector(IPaymentRouter.InvalidPaymentSignature.selector, payer));
        router.pay(p, permit, sig);
    }

    function test_RevertWhen_pay_NotEnoughCash() public {
        (IPaymentRouter.Payment memory p, IPaymentRouter.PermitSignature memory permit, bytes memory sig) =
            _signed(101e18, block.timestamp + 1 hours);
        vm.expectRevert(abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, payer, 100e18, 101e18));
        router.pay(p, permit, sig);
    }

    function test_RevertWhen_pay_ZeroAmount() public {
        (IPaymentRouter.Payment memory p, IPaymentRouter.PermitSignature memory permit, bytes memory sig) =
            _signed(0, block.timestamp + 1 hours);
        vm.expectRevert(IPaymentRouter.ZeroAmount.selector);
        router.pay(p, permit, sig);
    }

    function test_RevertWhen_constructor_ZeroAddress() public {
        vm.expectRevert(IPaymentRouter.ZeroAddress.selector);
        new PaymentRouter(address(0));
    }

    /// @dev Any amount up to the balance moves exactly; the total supply is unchanged.
    function testFuzz_pay_MovesExactlyTheAmount(uint256 amount, uint256 lifetime) public {
        amount = bound(amount, 1, 100e18);
        lifetime = bound(lifetime, 0, 365 days);
        uint256 supply = cash.totalSupply();
        (IPaymentRouter.Payment memory p, IPaymentRouter.PermitSignature memory permit, bytes memory sig) =
            _signed(amount, block.timestamp + lifetime);
        router.pay(p, permit, sig);
        assertEq(cash.balanceOf(payer), 100e18 - amount);
        assertEq(cash.balanceOf(brand), amount);
        assertEq(cash.totalSupply(), supply);
    }

    /// @dev Any field changed after signing is refused.
    function testFuzz_RevertWhen_pay_ReferenceTampered(bytes32 ref) public {
        if (ref == REF) ref = ~REF;
        (IPaymentRouter.Payment memory p, IPaymentRouter.PermitSignature memory permit, bytes memory sig) =
            _signed(1e18, block.timestamp + 1 hours);
        p.paymentRef = ref;
        vm.expectRevert(abi.encodeWithSelector(IPaymentRouter.InvalidPaymentSignature.selector, payer));
        router.pay(p, permit, sig);
    }
}

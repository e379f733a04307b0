// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IBudgetVault} from "../src/interfaces/IBudgetVault.sol";
import {ICashbackToken} from "../src/interfaces/ICashbackToken.sol";
import {BudgetVault} from "../src/BudgetVault.sol";
import {Deployment} from "./utils/Deployment.sol";

/// @notice CASH and its vault: created by the distributor, minted only by funding, never stuck.
contract CashbackTokenTest is Deployment {
    address internal brand = makeAddr("brand");
    address internal holder;
    uint256 internal holderKey;

    function setUp() public {
        vm.warp(1_750_000_000);
        _deploy();
        _onboard(brand, 1000, 10);
        (holder, holderKey) = makeAddrAndKey("holder");
        vm.prank(brand);
        distributor.withdraw(100, holder);
    }

    function test_metadata() public view {
        assertEq(cash.name(), "Cashback");
        assertEq(cash.symbol(), "CASH");
        assertEq(cash.decimals(), 18);
        assertEq(BudgetVault(vaultAddr).token(), address(cash));
        assertEq(BudgetVault(vaultAddr).distributor(), address(distributor));
    }

    function test_RevertWhen_mint_ByTheFunderDirectly() public {
        vm.expectRevert(abi.encodeWithSelector(ICashbackToken.NotDistributor.selector, funder));
        vm.prank(funder);
        cash.mint(funder, 1);
    }

    function test_RevertWhen_release_CallerIsNotTheDistributor() public {
        vm.expectRevert(abi.encodeWithSelector(IBudgetVault.NotDistributor.selector, brand));
        vm.prank(brand);
        BudgetVault(vaultAddr).release(address(cash), brand, 1);
    }

    function test_RevertWhen_transferFrom_IntoTheVaultBySpender() public {
        address spender = makeAddr("spender");
        vm.prank(holder);
        cash.approve(spender, 10);
        vm.expectRevert(abi.encodeWithSelector(ICashbackToken.TransferToProtocol.selector, vaultAddr));
        vm.prank(spender);
        cash.transferFrom(holder, vaultAddr, 10);
    }

    function test_deposit_DistributorMovesCashIntoTheVault() public {
        vm.startPrank(holder);
        cash.approve(address(distributor), 40);
        distributor.deposit(brand, 40);
        vm.stopPrank();
        assertEq(cash.balanceOf(vaultAddr), 940);
        assertEq(distributor.budgetOf(brand), 940);
    }

    function test_transfer_BetweenHoldersAsAnyErc20() public {
        vm.prank(holder);
        assertTrue(cash.transfer(brand, 30));
        assertEq(cash.balanceOf(brand), 30);
        assertEq(cash.balanceOf(holder), 70);
    }

    function test_permit_SignedApprovalWorks() public {
        address spender = makeAddr("spender");
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                holder,
                spender,
                50,
                cash.nonces(holder),
                deadline
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(holderKey, keccak256(abi.encodePacked("\x19\x01", cash.DOMAIN_SEPARATOR(), structHash)));
        cash.permit(holder, spender, 50, deadline, v, r, s);
        assertEq(cash.allowance(holder, spender), 50);
    }
}

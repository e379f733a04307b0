// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {BudgetVault} from "../src/BudgetVault.sol";
import {CashbackToken} from "../src/CashbackToken.sol";
import {RewardDistributor} from "../src/RewardDistributor.sol";
import {IBudgetVault} from "../src/interfaces/IBudgetVault.sol";

/// Unit tests of BudgetVault: only the distributor that created it may release its tokens.
contract BudgetVaultTest is Test {
    uint256 private constant BUDGET = 1_000e18;

    CashbackToken private token;
    RewardDistributor private distributor;
    BudgetVault private vault;

    address private admin = makeAddr("admin");
    address private brand = makeAddr("brand");
    address private recipient = makeAddr("recipient");
    address private stranger = makeAddr("stranger");

    function setUp() public {
        token = new CashbackToken(admin);
        distributor = new RewardDistributor(address(token), admin);
        vault = BudgetVault(distributor.vault());

        vm.prank(admin);
        token.mint(brand, BUDGET);
        vm.startPrank(brand);
        token.approve(address(distributor), BUDGET);
        distributor.deposit(brand, BUDGET);
        vm.stopPrank();
    }

    // ----------------------------------------------------------------------------------------
    // release
    // ----------------------------------------------------------------------------------------

    function test_release_ByDistributorPaysRecipient() public {
        vm.prank(address(distributor));
        vault.release(recipient, 300e18);

        assertEq(token.balanceOf(recipient), 300e18);
        assertEq(token.balanceOf(address(vault)), BUDGET - 300e18);
    }

    function test_release_ZeroAmountMovesNothing() public {
        vm.prank(address(distributor));
        vault.release(recipient, 0);

        assertEq(token.balanceOf(recipient), 0);
        assertEq(token.balanceOf(address(vault)), BUDGET);
    }

    function test_release_ByCreatorOfAStandaloneVault() public {
        // The creator is whoever deployed it: here this test contract.
        BudgetVault own = new BudgetVault(IERC20(address(token)));
        vm.prank(admin);
        token.mint(address(own), 5e18);

        own.release(recipient, 5e18);

        assertEq(token.balanceOf(recipient), 5e18);
    }

    function test_RevertWhen_ReleaseByStranger() public {
        vm.expectRevert(abi.encodeWithSelector(IBudgetVault.NotDistributor.selector, stranger));
        vm.prank(stranger);
        vault.release(stranger, 1e18);
    }

    function test_RevertWhen_ReleaseByBrand() public {
        // A brand reaches its budget only through the distributor's withdraw.
        vm.expectRevert(abi.encodeWithSelector(IBudgetVault.NotDistributor.selector, brand));
        vm.prank(brand);
        vault.release(brand, 1e18);
    }

    function test_RevertWhen_ReleaseByDistributorAdmin() public {
        // Roles on the distributor give no power over the vault.
        vm.expectRevert(abi.encodeWithSelector(IBudgetVault.NotDistributor.selector, admin));
        vm.prank(admin);
        vault.release(admin, 1e18);
    }

    function testFuzz_RevertWhen_ReleaseByAnyoneButDistributor(address caller, uint256 amount) public {
        if (caller == address(distributor)) caller = stranger;
        amount = bound(amount, 0, BUDGET);

        vm.expectRevert(abi.encodeWithSelector(IBudgetVault.NotDistributor.selector, caller));
        vm.prank(caller);
        vault.release(caller, amount);

        assertEq(token.balanceOf(address(vault)), BUDGET);
    }

    function test_RevertWhen_ReleaseExceedsBalance() public {
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientBalance.selector, address(vault), BUDGET, BUDGET + 1)
        );
        vm.prank(address(distributor));
        vault.release(recipient, BUDGET + 1);
    }

    // ----------------------------------------------------------------------------------------
    // distributor
    // ----------------------------------------------------------------------------------------

    function test_distributor_IsTheCreatingDistributor() public view {
        assertEq(vault.distributor(), address(distributor));
    }

    function test_distributor_OfAStandaloneVaultIsItsDeployer() public {
        BudgetVault own = new BudgetVault(IERC20(address(token)));

        assertEq(own.distributor(), address(this));
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {StdInvariant} from "forge-std/StdInvariant.sol";
import {CashbackToken} from "../src/CashbackToken.sol";
import {RewardDistributor} from "../src/RewardDistributor.sol";
import {DistributorHandler} from "./handlers/DistributorHandler.sol";

/// Invariants of RewardDistributor under random deposits, withdrawals, publications and claims.
contract RewardDistributorInvariantTest is Test {
    CashbackToken private token;
    RewardDistributor private distributor;
    DistributorHandler private handler;

    function setUp() public {
        token = new CashbackToken(address(this));
        distributor = new RewardDistributor(address(token), address(this));
        handler = new DistributorHandler(distributor, token);
        token.grantRole(token.MINTER_ROLE(), address(handler));
        distributor.grantRole(distributor.OPERATOR_ROLE(), address(handler));
        distributor.grantRole(distributor.PAUSER_ROLE(), address(handler));

        bytes4[] memory selectors = new bytes4[](6);
        selectors[0] = DistributorHandler.deposit.selector;
        selectors[1] = DistributorHandler.withdraw.selector;
        selectors[2] = DistributorHandler.publishEpoch.selector;
        selectors[3] = DistributorHandler.claim.selector;
        selectors[4] = DistributorHandler.claimMany.selector;
        selectors[5] = DistributorHandler.togglePause.selector;
        targetSelector(StdInvariant.FuzzSelector({addr: address(handler), selectors: selectors}));
        targetContract(address(handler));
    }

    /// Nothing is paid out that brands did not put in and leave in.
    function invariant_claimedWithinFunded() public view {
        assertLe(handler.ghost_claimed(), handler.ghost_deposited() - handler.ghost_withdrawn());
    }

    /// No account's claimed total passes its cumulative amount in the latest epoch.
    function invariant_claimedWithinCumulative() public view {
        address[] memory customers = handler.customers();
        for (uint256 i; i < customers.length; ++i) {
            assertLe(distributor.claimed(customers[i]), handler.ghost_cumulative(customers[i]));
        }
    }

    /// The vault holds exactly the brands' unspent budgets: claims never reach into it.
    function invariant_vaultBalanceEqualsBudgets() public view {
        address[] memory brands = handler.brands();
        uint256 budgets;
        for (uint256 i; i < brands.length; ++i) {
            budgets += distributor.budgetOf(brands[i]);
        }
        assertEq(token.balanceOf(distributor.vault()), budgets);
    }

    /// The distributor holds exactly what was allocated and not yet paid to customers.
    function invariant_distributorBalanceEqualsUnclaimed() public view {
        assertEq(token.balanceOf(address(distributor)), distributor.totalAllocated() - handler.ghost_claimed());
    }

    /// The allocated total is the sum of the epochs' increases.
    function invariant_totalAllocatedEqualsEpochIncreases() public view {
        assertEq(distributor.totalAllocated(), handler.ghost_allocated());
    }

    /// No account was ever paid more than its latest cumulative amount (checked at each payment).
    function invariant_noAccountOverpaid() public view {
        assertEq(handler.ghost_overpayments(), 0);
    }

    /// The handler's trees are honest: the latest leaves add up to everything allocated.
    function invariant_leavesAddUpToAllocated() public view {
        address[] memory customers = handler.customers();
        uint256 cumulative;
        for (uint256 i; i < customers.length; ++i) {
            cumulative += handler.ghost_cumulative(customers[i]);
        }
        assertEq(cumulative, handler.ghost_allocated());
    }
}

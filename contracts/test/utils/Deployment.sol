// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Test} from "forge-std/Test.sol";
import {CashbackToken} from "../../src/CashbackToken.sol";
import {ConsentRegistry} from "../../src/ConsentRegistry.sol";
import {RewardDistributor} from "../../src/RewardDistributor.sol";
import {IConsentRegistry} from "../../src/interfaces/IConsentRegistry.sol";
import {IRewardDistributor} from "../../src/interfaces/IRewardDistributor.sol";
import {ConsentSigner} from "./ConsentSigner.sol";

/// @notice Deploys the three contracts as docs/contracts.md prescribes, one key per role, and
/// offers the few setup steps every suite needs.
abstract contract Deployment is Test, ConsentSigner {
    uint40 internal constant WINDOW = 1 hours;
    uint48 internal constant ADMIN_DELAY = 2 days;

    ConsentRegistry internal registry;
    RewardDistributor internal distributor;
    CashbackToken internal cash;
    address internal vaultAddr;

    address internal admin = makeAddr("admin");
    address internal operator = makeAddr("operator");
    address internal recorder = makeAddr("recorder");
    address internal pauser = makeAddr("pauser");
    address internal funder = makeAddr("funder");
    address internal auditor = makeAddr("auditor");

    function _deploy() internal {
        registry = new ConsentRegistry(ADMIN_DELAY, admin, operator, recorder, pauser);
        distributor =
            new RewardDistributor(address(registry), WINDOW, ADMIN_DELAY, admin, operator, funder, auditor, pauser);
        cash = CashbackToken(distributor.token());
        vaultAddr = distributor.vault();
        vm.prank(admin);
        registry.bindDistributor(address(distributor));
    }

    function _registerBrand(address brand) internal {
        vm.prank(operator);
        registry.registerBrand(brand);
    }

    function _fund(address brand, uint256 amount) internal {
        vm.prank(funder);
        distributor.fund(brand, amount, bytes32(0));
    }

    function _setLimits(address brand, uint96 allowance, uint96 maxPrice) internal {
        vm.prank(brand);
        registry.setAccessLimits(IConsentRegistry.AccessLimits({allowance: allowance, maxPrice: maxPrice}));
    }

    /// @dev A brand registered, funded with `budget` and letting the recorder charge up to it.
    function _onboard(address brand, uint256 budget, uint96 maxPrice) internal {
        _registerBrand(brand);
        if (budget != 0) _fund(brand, budget);
        _setLimits(brand, uint96(budget), maxPrice);
    }

    function _debit(address brand, uint96 fromReserve, uint96 fromBudget)
        internal
        pure
        returns (IRewardDistributor.Debit[] memory d)
    {
        d = new IRewardDistributor.Debit[](1);
        d[0] = IRewardDistributor.Debit({brand: brand, fromReserve: fromReserve, fromBudget: fromBudget});
    }

    function _noDebits() internal pure returns (IRewardDistributor.Debit[] memory d) {
        d = new IRewardDistributor.Debit[](0);
    }

    /// @dev Publishes the next epoch and waits out its challenge window and finalises it.
    function _publishAndFinalize(bytes32 root, IRewardDistributor.Debit[] memory debits) internal {
        uint64 epoch = distributor.latestEpoch() + 1;
        vm.prank(operator);
        distributor.publishEpoch(
            epoch, root, keccak256(abi.encode(epoch)), debits, new IRewardDistributor.Credit[](0), 0
        );
        vm.warp(block.timestamp + WINDOW);
        distributor.finalizeEpoch();
    }

    function _publish(bytes32 root, IRewardDistributor.Debit[] memory debits) internal returns (uint64 epoch) {
        epoch = distributor.latestEpoch() + 1;
        vm.prank(operator);
        distributor.publishEpoch(
            epoch, root, keccak256(abi.encode(epoch)), debits, new IRewardDistributor.Credit[](0), 0
        );
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Test} from "forge-std/Test.sol";
import {CampaignRegistry} from "../src/CampaignRegistry.sol";
import {ICampaignRegistry} from "../src/interfaces/ICampaignRegistry.sol";

/// Unit and fuzz tests of CampaignRegistry: commit before the start, reveal after the end, no re-draw.
contract CampaignRegistryTest is Test {
    CampaignRegistry private registry;

    address private admin = makeAddr("admin");
    address private operator = makeAddr("operator");
    address private brand = makeAddr("brand");
    address private stranger = makeAddr("stranger");

    bytes32 private constant ID = keccak256("campaign-1");
    bytes32 private constant PARAMS = keccak256("params");
    bytes32 private constant SALT = keccak256("salt");
    bytes32 private constant RESULTS = keccak256("results");
    uint40 private startsAt;
    uint40 private endsAt;

    function setUp() public {
        registry = new CampaignRegistry(0, admin, operator);
        vm.warp(1_800_000_000);
        startsAt = uint40(block.timestamp + 1 days);
        endsAt = uint40(block.timestamp + 15 days);
    }

    function _commit() private {
        bytes32 commitment = registry.commitmentOf(PARAMS, SALT);
        vm.prank(operator);
        registry.commit(ID, brand, commitment, 1_000, startsAt, endsAt);
    }

    function test_commit_RecordsAndEmits() public {
        bytes32 commitment = registry.commitmentOf(PARAMS, SALT);
        vm.expectEmit(true, true, false, true);
        emit ICampaignRegistry.CampaignCommitted(ID, brand, commitment, 1_000, startsAt, endsAt);
        vm.prank(brand);
        registry.commit(ID, brand, commitment, 1_000, startsAt, endsAt);

        ICampaignRegistry.Campaign memory c = registry.campaignOf(ID);
        assertEq(c.brand, brand);
        assertEq(c.commitment, commitment);
        assertEq(c.committedAt, block.timestamp);
        assertEq(c.salt, bytes32(0));
    }

    function test_RevertWhen_CommitAtOrAfterTheStart() public {
        bytes32 commitment = registry.commitmentOf(PARAMS, SALT);
        vm.warp(startsAt);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(ICampaignRegistry.TooLateToCommit.selector, ID, startsAt, startsAt));
        registry.commit(ID, brand, commitment, 1_000, startsAt, endsAt);
    }

    function test_RevertWhen_CommitTwice() public {
        _commit();
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(ICampaignRegistry.CampaignExists.selector, ID));
        registry.commit(ID, brand, keccak256("other"), 2_000, startsAt, endsAt);
    }

    function test_RevertWhen_CommitByAStranger() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(ICampaignRegistry.NotBrandOrOperator.selector, stranger, brand));
        registry.commit(ID, brand, keccak256("c"), 1_000, startsAt, endsAt);
    }

    function test_RevertWhen_HoldoutOutsideHalf() public {
        vm.startPrank(operator);
        vm.expectRevert(abi.encodeWithSelector(ICampaignRegistry.InvalidHoldout.selector, 0));
        registry.commit(ID, brand, keccak256("c"), 0, startsAt, endsAt);
        vm.expectRevert(abi.encodeWithSelector(ICampaignRegistry.InvalidHoldout.selector, 5_001));
        registry.commit(ID, brand, keccak256("c"), 5_001, startsAt, endsAt);
        vm.stopPrank();
    }

    function test_RevertWhen_EndNotAfterStart() public {
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(ICampaignRegistry.InvalidWindow.selector, startsAt, startsAt));
        registry.commit(ID, brand, keccak256("c"), 1_000, startsAt, startsAt);
    }

    function test_reveal_AfterTheEndOpensTheCommitment() public {
        _commit();
        vm.warp(endsAt);
        vm.expectEmit(true, false, false, true);
        emit ICampaignRegistry.CampaignRevealed(ID, PARAMS, SALT, RESULTS);
        vm.prank(brand);
        registry.reveal(ID, PARAMS, SALT, RESULTS);

        ICampaignRegistry.Campaign memory c = registry.campaignOf(ID);
        assertEq(c.salt, SALT);
        assertEq(c.resultsHash, RESULTS);
        assertEq(c.revealedAt, endsAt);
    }

    function test_RevertWhen_RevealBeforeTheEnd() public {
        _commit();
        vm.warp(endsAt - 1);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(ICampaignRegistry.TooEarlyToReveal.selector, ID, endsAt, endsAt - 1));
        registry.reveal(ID, PARAMS, SALT, RESULTS);
    }

    function test_RevertWhen_RevealTwice() public {
        _commit();
        vm.warp(endsAt);
        vm.startPrank(operator);
        registry.reveal(ID, PARAMS, SALT, RESULTS);
        vm.expectRevert(abi.encodeWithSelector(ICampaignRegistry.AlreadyRevealed.selector, ID));
        registry.reveal(ID, PARAMS, SALT, RESULTS);
        vm.stopPrank();
    }

    /// No other salt or parameters open a commitment: the holdout cannot be re-drawn after the fact.
    function testFuzz_RevertWhen_RevealWithAnotherSaltOrParams(bytes32 salt, bytes32 params) public {
        if (salt == SALT && params == PARAMS) salt = bytes32(uint256(SALT) ^ 1);
        _commit();
        vm.warp(endsAt);
        bytes32 commitment = registry.commitmentOf(PARAMS, SALT);
        bytes32 opened = registry.commitmentOf(params, salt);
        vm.prank(operator);
        vm.expectRevert(abi.encodeWithSelector(ICampaignRegistry.CommitmentMismatch.selector, ID, commitment, opened));
        registry.reveal(ID, params, salt, RESULTS);
    }

    function testFuzz_bucketOf_IsKeccakOfSaltAndCustomer(bytes32 salt, address customer) public view {
        uint256 expected = uint256(keccak256(abi.encodePacked(salt, customer))) % 10_000;
        assertEq(registry.bucketOf(salt, customer), expected);
        assertLt(registry.bucketOf(salt, customer), 10_000);
    }

    function test_inHoldout_FollowsTheRevealedSalt() public {
        _commit();
        vm.warp(endsAt);
        vm.prank(operator);
        registry.reveal(ID, PARAMS, SALT, RESULTS);
        address customer = makeAddr("customer");
        assertEq(registry.inHoldout(ID, customer), registry.bucketOf(SALT, customer) < 1_000);
    }

    function test_RevertWhen_InHoldoutBeforeTheReveal() public {
        _commit();
        vm.expectRevert(abi.encodeWithSelector(ICampaignRegistry.CampaignNotFound.selector, ID));
        registry.inHoldout(ID, brand);
    }
}

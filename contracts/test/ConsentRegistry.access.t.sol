// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Vm} from "forge-std/Vm.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IConsentRegistry} from "../src/interfaces/IConsentRegistry.sol";
import {IRewardDistributor} from "../src/interfaces/IRewardDistributor.sol";
import {Deployment} from "./utils/Deployment.sol";

/// @notice recordAccess: agreed prices, brand authorisation, skip-and-report, duplicates, reserves
/// (issue 10 items 1, 2, 4, 5; issue 9 item 14).
contract ConsentRegistryAccessTest is Deployment {
    uint8 internal constant MARKETING = 1;
    uint64 internal constant EMAIL = 1 << 0;
    uint64 internal constant PURCHASES = 1 << 1;
    uint96 internal constant PRICE = 50_000;
    uint256 internal constant BUDGET = 1_000_000;
    bytes32 internal constant REQUEST = keccak256("request-1");

    address internal brand = makeAddr("brand");
    address internal alice = makeAddr("alice");
    address internal bob = makeAddr("bob");
    address internal carol = makeAddr("carol");
    address internal consentRelayer = makeAddr("consentRelayer");

    function setUp() public {
        vm.warp(1_750_000_000);
        _deploy();
        _onboard(brand, BUDGET, PRICE);
    }

    function _grant(address customer, uint96 price) internal {
        vm.prank(customer);
        registry.grant(
            IConsentRegistry.GrantTerms({
                customer: customer,
                brand: brand,
                purpose: MARKETING,
                categories: EMAIL | PURCHASES,
                expiresAt: 0,
                price: price,
                receiptHash: bytes32(0),
                noticeHash: bytes32(0)
            })
        );
    }

    function _list(address a, address b, address c) internal pure returns (address[] memory l) {
        l = new address[](3);
        (l[0], l[1], l[2]) = (a, b, c);
    }

    function _prices(uint256 n, uint96 p) internal pure returns (uint96[] memory l) {
        l = new uint96[](n);
        for (uint256 i; i < n; ++i) {
            l[i] = p;
        }
    }

    function _record(address sender, address[] memory customers, uint96[] memory maxPrices) internal returns (uint256) {
        vm.prank(sender);
        return registry.recordAccess(brand, MARKETING, EMAIL, customers, maxPrices, REQUEST);
    }

    /// @dev The AccessSkipped event of the last call, decoded (empty if none).
    function _skipped(Vm.Log[] memory logs) internal pure returns (address[] memory who, uint8[] memory why) {
        bytes32 topic = IConsentRegistry.AccessSkipped.selector;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] == topic) return abi.decode(logs[i].data, (address[], uint8[]));
        }
    }

    // ---- item 1: the price the brand agreed to bounds what it is charged ----

    function test_recordAccess_SkipsCustomerWhoRaisedThePriceAfterTheQuote() public {
        _grant(alice, PRICE);
        _grant(bob, PRICE);
        // Quoted at PRICE; alice re-grants at the whole budget before the batch is mined.
        _grant(alice, uint96(BUDGET));
        vm.recordLogs();
        uint256 total = _record(recorder, _list(alice, bob, carol), _prices(3, PRICE));
        assertEq(total, PRICE, "only bob charged, at the quoted price");
        assertEq(distributor.reservedOf(brand), PRICE);
        (address[] memory who, uint8[] memory why) = _skipped(vm.getRecordedLogs());
        assertEq(who.length, 2);
        assertEq(who[0], alice);
        assertEq(why[0], uint8(IConsentRegistry.SkipReason.PriceAboveMaximum));
        assertEq(who[1], carol);
        assertEq(why[1], uint8(IConsentRegistry.SkipReason.NotCovered));
    }

    function test_recordAccess_ChargesALoweredPrice() public {
        _grant(alice, 10);
        assertEq(_record(recorder, _list(alice, alice, alice), _prices(3, PRICE)), 10);
    }

    function testFuzz_recordAccess_NeverChargesAboveTheAgreedMaximum(uint96 price, uint96 maxPrice) public {
        price = uint96(bound(price, 0, type(uint96).max));
        maxPrice = uint96(bound(maxPrice, 0, PRICE));
        _grant(alice, price);
        address[] memory one = new address[](1);
        one[0] = alice;
        uint256 total = _record(recorder, one, _prices(1, maxPrice));
        assertLe(total, maxPrice);
        assertEq(total, price <= maxPrice ? price : 0);
        assertEq(distributor.reservedOf(brand), total);
    }

    function test_recordAccess_UInt96MaximumPriceCannotSinkEpochs() public {
        // The issue's exploit: a price of 2^96 - 1 once made the debt exceed every budget.
        _grant(alice, type(uint96).max);
        _grant(bob, type(uint96).max);
        assertEq(_record(recorder, _list(alice, bob, carol), _prices(3, PRICE)), 0);
        assertEq(distributor.reservedOf(brand), 0);
    }

    // ---- item 5: brand authorisation; the recorder is its own key ----

    function test_RevertWhen_recordAccess_SenderIsTheConsentRelayer() public {
        _grant(alice, PRICE);
        address[] memory one = new address[](1);
        one[0] = alice;
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.NotBrandOrRecorder.selector, consentRelayer, brand));
        _record(consentRelayer, one, _prices(1, PRICE));
    }

    function test_RevertWhen_recordAccess_SenderIsTheOperator() public {
        address[] memory one = new address[](1);
        one[0] = alice;
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.NotBrandOrRecorder.selector, operator, brand));
        _record(operator, one, _prices(1, PRICE));
    }

    function test_recordAccess_RecorderCannotExceedTheBrandsMaxPrice() public {
        _grant(alice, PRICE + 1);
        address[] memory one = new address[](1);
        one[0] = alice;
        // The recorder claims the brand agreed to more than the brand's own on-chain maximum.
        assertEq(_record(recorder, one, _prices(1, type(uint96).max)), 0);
    }

    function test_recordAccess_RecorderCannotExceedTheAllowance() public {
        _setLimits(brand, PRICE * 2, PRICE);
        _grant(alice, PRICE);
        _grant(bob, PRICE);
        _grant(carol, PRICE);
        vm.recordLogs();
        assertEq(_record(recorder, _list(alice, bob, carol), _prices(3, PRICE)), 2 * PRICE);
        (address[] memory who, uint8[] memory why) = _skipped(vm.getRecordedLogs());
        assertEq(who.length, 1);
        assertEq(who[0], carol);
        assertEq(why[0], uint8(IConsentRegistry.SkipReason.OverAllowance));
        (IConsentRegistry.AccessLimits memory limits,) = registry.accessLimitsOf(brand);
        assertEq(limits.allowance, 0, "allowance spent");
        // Nothing more can be charged by the recorder until the brand raises it.
        assertEq(_record(recorder, _list(alice, bob, carol), _prices(3, PRICE)), 0);
    }

    function test_recordAccess_FakeCustomersCannotDrainABrandThatSetNoLimits() public {
        address other = makeAddr("otherBrand");
        _registerBrand(other);
        _fund(other, BUDGET);
        // A fake customer consents at the whole budget; the brand never set limits.
        vm.prank(alice);
        registry.grant(
            IConsentRegistry.GrantTerms(alice, other, MARKETING, EMAIL, 0, uint96(BUDGET), bytes32(0), bytes32(0))
        );
        address[] memory one = new address[](1);
        one[0] = alice;
        vm.prank(recorder);
        assertEq(registry.recordAccess(other, MARKETING, EMAIL, one, _prices(1, uint96(BUDGET)), REQUEST), 0);
        assertEq(distributor.availableOf(other), BUDGET);
    }

    function test_recordAccess_BrandItselfIsBoundByItsOwnMaxPricesOnly() public {
        _setLimits(brand, 0, 0);
        _grant(alice, PRICE);
        address[] memory one = new address[](1);
        one[0] = alice;
        assertEq(_record(brand, one, _prices(1, PRICE)), PRICE);
    }

    function test_setAccessLimitsBySig_AnyoneRelaysTheBrandsSignature() public {
        (address signer, uint256 key) = makeAddrAndKey("signingBrand");
        _registerBrand(signer);
        IConsentRegistry.AccessLimits memory limits = IConsentRegistry.AccessLimits(7, 3);
        IConsentRegistry.SignatureTiming memory t = _timingAt(uint40(block.timestamp), 1);
        bytes memory sig = _sign(key, _limitsDigest(registry.DOMAIN_SEPARATOR(), signer, limits, t));
        vm.prank(consentRelayer);
        registry.setAccessLimitsBySig(signer, limits, t, sig);
        (IConsentRegistry.AccessLimits memory got,) = registry.accessLimitsOf(signer);
        assertEq(got.allowance, 7);
        assertEq(got.maxPrice, 3);
    }

    function test_RevertWhen_setAccessLimitsBySig_SignedBeforeTheBrandsLastChange() public {
        (address signer, uint256 key) = makeAddrAndKey("signingBrand");
        _registerBrand(signer);
        IConsentRegistry.AccessLimits memory wide = IConsentRegistry.AccessLimits(1e9, 1e9);
        IConsentRegistry.SignatureTiming memory t = _timingAt(uint40(block.timestamp), 1);
        bytes memory sig = _sign(key, _limitsDigest(registry.DOMAIN_SEPARATOR(), signer, wide, t));
        vm.warp(block.timestamp + 10);
        _setLimits(signer, 0, 0); // the brand closes the tap directly
        vm.expectRevert(
            abi.encodeWithSelector(
                IConsentRegistry.LimitsSignedBeforeLastChange.selector, t.signedAt, uint40(block.timestamp)
            )
        );
        registry.setAccessLimitsBySig(signer, wide, t, sig);
    }

    function test_RevertWhen_setAccessLimits_CallerIsNotABrand() public {
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.NotBrand.selector, alice));
        _setLimits(alice, 1, 1);
    }

    // ---- item 4: one customer cannot sink the batch ----

    function test_recordAccess_CustomerWhoRevokedIsSkippedOthersRecorded() public {
        address[] memory customers = new address[](500);
        for (uint256 i; i < 500; ++i) {
            customers[i] = address(uint160(0x10000 + i));
            _grant(customers[i], 1);
        }
        vm.prank(customers[250]);
        registry.revoke(customers[250], brand, MARKETING);
        vm.recordLogs();
        assertEq(_record(recorder, customers, _prices(500, 1)), 499);
        (address[] memory who, uint8[] memory why) = _skipped(vm.getRecordedLogs());
        assertEq(who.length, 1);
        assertEq(who[0], customers[250]);
        assertEq(why[0], uint8(IConsentRegistry.SkipReason.NotCovered));
    }

    function test_recordAccess_ExpiredAndUnknownCustomersAreSkipped() public {
        vm.prank(alice);
        registry.grant(
            IConsentRegistry.GrantTerms(
                alice, brand, MARKETING, EMAIL, uint40(block.timestamp + 1), PRICE, bytes32(0), bytes32(0)
            )
        );
        _grant(bob, PRICE);
        vm.warp(block.timestamp + 1);
        assertEq(_record(recorder, _list(alice, bob, address(0)), _prices(3, PRICE)), PRICE);
    }

    function test_recordAccess_OverBudgetIsSkippedNotReverted() public {
        _setLimits(brand, type(uint96).max, type(uint96).max);
        _grant(alice, uint96(BUDGET));
        _grant(bob, 1);
        vm.recordLogs();
        assertEq(_record(recorder, _list(alice, bob, carol), _prices(3, type(uint96).max)), BUDGET);
        (address[] memory who, uint8[] memory why) = _skipped(vm.getRecordedLogs());
        assertEq(who[0], bob);
        assertEq(why[0], uint8(IConsentRegistry.SkipReason.OverBudget));
    }

    function test_RevertWhen_recordAccess_PricesAndCustomersDifferInLength() public {
        vm.expectRevert(abi.encodeWithSelector(IConsentRegistry.LengthMismatch.selector, 3, 2));
        _record(recorder, _list(alice, bob, carol), _prices(2, PRICE));
    }

    function test_RevertWhen_recordAccess_Paused() public {
        vm.prank(pauser);
        registry.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        _record(recorder, _list(alice, bob, carol), _prices(3, PRICE));
    }

    // ---- issue 9 item 14: a customer repeated in a batch is charged once ----

    function test_recordAccess_DuplicateCustomerChargedOnce() public {
        _grant(alice, PRICE);
        vm.recordLogs();
        assertEq(_record(recorder, _list(alice, alice, alice), _prices(3, PRICE)), PRICE);
        (address[] memory who, uint8[] memory why) = _skipped(vm.getRecordedLogs());
        assertEq(who.length, 2);
        assertEq(why[0], uint8(IConsentRegistry.SkipReason.Duplicate));
        assertEq(why[1], uint8(IConsentRegistry.SkipReason.Duplicate));
    }

    function test_recordAccess_SameCustomerInTwoBatchesOfOneTransactionChargedInEach() public {
        _grant(alice, PRICE);
        address[] memory one = new address[](1);
        one[0] = alice;
        // Two calls from the same transaction (this test is one): the batch marker tells them apart.
        vm.startPrank(recorder);
        assertEq(registry.recordAccess(brand, MARKETING, EMAIL, one, _prices(1, PRICE), REQUEST), PRICE);
        assertEq(registry.recordAccess(brand, MARKETING, EMAIL, one, _prices(1, PRICE), REQUEST), PRICE);
        vm.stopPrank();
    }

    function testFuzz_recordAccess_EachDistinctCustomerChargedOnce(uint8[40] memory picks, uint8 nRaw) public {
        uint256 n = bound(nRaw, 1, 40);
        address[8] memory pool;
        for (uint256 i; i < 8; ++i) {
            pool[i] = address(uint160(0xA000 + i));
            _grant(pool[i], uint96(1000 + i));
        }
        address[] memory customers = new address[](n);
        bool[8] memory seen;
        uint256 expected;
        uint256 distinct;
        for (uint256 i; i < n; ++i) {
            uint256 k = picks[i] % 8;
            customers[i] = pool[k];
            if (!seen[k]) {
                seen[k] = true;
                expected += 1000 + k;
                ++distinct;
            }
        }
        vm.recordLogs();
        assertEq(_record(recorder, customers, _prices(n, PRICE)), expected);
        (address[] memory who,) = _skipped(vm.getRecordedLogs());
        assertEq(who.length, n - distinct, "every repeat skipped");
        assertEq(distributor.reservedOf(brand), expected);
    }

    // ---- item 2: recording reserves budget; withdrawal stops at the reserve ----

    function test_RevertWhen_withdraw_BeyondTheUnreservedBudget() public {
        _grant(alice, PRICE);
        address[] memory one = new address[](1);
        one[0] = alice;
        _record(recorder, one, _prices(1, PRICE));
        vm.expectRevert(
            abi.encodeWithSelector(IRewardDistributor.InsufficientBudget.selector, brand, BUDGET - PRICE, BUDGET)
        );
        vm.prank(brand);
        distributor.withdraw(BUDGET, brand);
    }

    function test_withdraw_PausedStillStopsAtTheReserve() public {
        _grant(alice, PRICE);
        address[] memory one = new address[](1);
        one[0] = alice;
        _record(recorder, one, _prices(1, PRICE));
        vm.prank(pauser);
        distributor.pause();
        vm.prank(brand);
        distributor.withdraw(BUDGET - PRICE, brand);
        assertEq(distributor.budgetOf(brand), PRICE);
        assertEq(distributor.reservedOf(brand), PRICE);
    }

    function test_publishEpoch_ConsumesTheReserveOfARecordedAccess() public {
        _grant(alice, PRICE);
        address[] memory one = new address[](1);
        one[0] = alice;
        _record(recorder, one, _prices(1, PRICE));
        // The brand withdraws everything it can; the epoch carrying its debit still settles.
        vm.prank(brand);
        distributor.withdraw(BUDGET - PRICE, brand);
        _publishAndFinalize(keccak256("root"), _debit(brand, PRICE, 0));
        assertEq(distributor.reservedOf(brand), 0);
        assertEq(distributor.budgetOf(brand), 0);
        assertEq(cash.balanceOf(address(distributor)), PRICE);
    }

    function test_RevertWhen_reserve_CallerIsNotTheRegistry() public {
        vm.expectRevert(abi.encodeWithSelector(IRewardDistributor.NotRegistry.selector, brand));
        vm.prank(brand);
        distributor.reserve(brand, 1);
    }
}

// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Gas benchmark scenarios, rendered by bench/gas.py. Run only with `forge test --isolate`.

import {Test} from "forge-std/Test.sol";
import {Hashes} from "@openzeppelin/contracts/utils/cryptography/Hashes.sol";
import {CashbackToken} from "../../src/CashbackToken.sol";
import {ConsentRegistry} from "../../src/ConsentRegistry.sol";
import {RewardDistributor} from "../../src/RewardDistributor.sol";
import {PaymentRouter} from "../../src/PaymentRouter.sol";
import {IPaymentRouter} from "../../src/interfaces/IPaymentRouter.sol";
import {PaymentSigner} from "../utils/PaymentSigner.sol";
import {IConsentRegistry} from "../../src/interfaces/IConsentRegistry.sol";
import {IRewardDistributor} from "../../src/interfaces/IRewardDistributor.sol";

/// @notice Deployment and the one measuring helper shared by every scenario.
/// @dev Each scenario measures exactly one call, which `--isolate` runs as its own transaction
/// (fresh access list: every account and slot starts cold; refunds capped as on chain).
/// `snapshotGasLastCall` then yields that transaction's receipt gasUsed; `_measure` subtracts the
/// intrinsic cost (21,000 + EIP-2028 calldata) and records the execution gas as `<name>`, with
/// `<name>.txGasUsed` and `<name>.calldataGas` alongside for the record. Goals are judged by
/// bench/gas.py, never asserted here: a benchmark must not fail like a test.
abstract contract GasBench is Test {
    uint256 internal constant TX_BASE_GAS = 21_000;
    uint256 internal constant BUDGET = 1e27;
    uint40 internal constant WINDOW = 1 hours;

    address internal admin = makeAddr("admin");
    address internal operator = makeAddr("operator");
    address internal recorder = makeAddr("recorder");
    address internal funder = makeAddr("funder");
    address internal auditor = makeAddr("auditor");
    address internal pauser = makeAddr("pauser");
    CashbackToken internal token;
    ConsentRegistry internal registry;
    RewardDistributor internal distributor;
    address[] internal brands;

    function setUp() public virtual {
        // A realistic clock, so expiries and deadlines are checked against something non-trivial.
        vm.warp(1_750_000_000);
        // As the deployment routine does (docs/contracts.md "Issue 10 design").
        registry = new ConsentRegistry(2 days, admin, operator, recorder, pauser);
        distributor = new RewardDistributor(address(registry), WINDOW, 2 days, admin, operator, funder, auditor, pauser);
        token = CashbackToken(distributor.token());
        vm.prank(admin);
        registry.bindDistributor(address(distributor));
        for (uint256 i; i < 5; ++i) {
            address brand = makeAddr(string.concat("brand", vm.toString(i)));
            brands.push(brand);
            vm.prank(operator);
            registry.registerBrand(brand);
            vm.prank(funder);
            distributor.fund(brand, BUDGET, bytes32(0));
            vm.prank(brand);
            registry.setAccessLimits(IConsentRegistry.AccessLimits({allowance: uint96(BUDGET), maxPrice: 1e18}));
        }
    }

    function _debits(uint256 n, uint256 amount) internal view returns (IRewardDistributor.Debit[] memory d) {
        d = new IRewardDistributor.Debit[](n);
        for (uint256 i; i < n; ++i) {
            // forge-lint: disable-next-line(unsafe-typecast)
            d[i] = IRewardDistributor.Debit({brand: brands[i], fromReserve: 0, fromBudget: uint96(amount + i * 1e18)});
        }
    }

    /// @dev Publishes `epoch` and finalises it after its window, as the backend does.
    function _publishAndFinalize(uint64 epoch, bytes32 root, IRewardDistributor.Debit[] memory debits) internal {
        vm.prank(operator);
        distributor.publishEpoch(
            epoch, root, keccak256(abi.encode("commitment", epoch)), debits, new IRewardDistributor.Credit[](0), 0
        );
        vm.warp(block.timestamp + WINDOW);
        distributor.finalizeEpoch();
    }

    /// @dev Sends `data` from `from` to `to` as one isolated transaction and records its gas.
    function _measure(string memory name, address from, address to, bytes memory data)
        internal
        returns (uint256 executionGas)
    {
        _requireIsolation();
        vm.prank(from);
        (bool ok, bytes memory returned) = to.call(data);
        if (!ok) {
            // Bubble the contract's own error so a broken scenario is reported, not measured.
            assembly ("memory-safe") {
                revert(add(returned, 0x20), mload(returned))
            }
        }
        uint256 txGasUsed = vm.snapshotGasLastCall(string.concat(name, ".txGasUsed"));
        uint256 calldataGas = _calldataGas(data);
        executionGas = txGasUsed - TX_BASE_GAS - calldataGas;
        vm.snapshotValue(string.concat(name, ".calldataGas"), calldataGas);
        vm.snapshotValue(name, executionGas);
    }

    /// @dev Without --isolate a call is a mere sub-call: warm slots, no intrinsic gas, refunds
    /// uncapped. Its last-call gas would then be meaningless, so refuse to run.
    function _requireIsolation() internal {
        (bool ok,) = makeAddr("nobody").call("");
        require(ok && vm.lastCallGas().gasTotalUsed >= TX_BASE_GAS, "run the gas benchmark with forge test --isolate");
    }

    /// @dev EIP-2028: 4 gas per zero byte, 16 per non-zero byte.
    function _calldataGas(bytes memory data) internal pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }

    /// @dev An address that looks like a real one (20 random-looking bytes, no zero padding).
    function _account(string memory kind, uint256 i) internal pure returns (address) {
        return address(uint160(uint256(keccak256(abi.encode(kind, i)))));
    }
}

/// @notice Consents: grants and revocations signed by the customer (EIP-712) or sent by them.
contract ConsentGas is GasBench {
    // The registry's EIP-712 type strings, verbatim.
    string private constant GRANT_TYPE =
        "Grant(address customer,address brand,uint8 purpose,uint64 categories,uint40 expiresAt,uint96 price,bytes32 receiptHash,bytes32 noticeHash,uint40 signedAt,uint256 nonce,uint256 deadline)";
    string private constant REVOKE_TYPE =
        "Revoke(address customer,address brand,uint8 purpose,uint40 signedAt,uint256 nonce,uint256 deadline)";

    uint8 private constant PURPOSE = 2;

    address private customer;
    uint256 private customerKey;
    address private relayer = makeAddr("relayer");

    function setUp() public override {
        super.setUp();
        (customer, customerKey) = makeAddrAndKey("customer");
    }

    /// @dev The customer's first signature: its nonce bitmap word is created.
    function test_grantBySig_newCustomer() public {
        _grantBySig("grantBySig.newCustomer", brands[0], 1);
    }

    /// @dev A customer who signed before (nonce in the same bitmap word).
    function test_grantBySig_returningCustomer() public {
        _grantBySig("", brands[1], 1);
        _grantBySig("grantBySig.returningCustomer", brands[0], 2);
    }

    function test_grant_returningCustomer() public {
        _grant(brands[1]);
        IConsentRegistry.GrantTerms memory terms = _terms(brands[0]);
        _measure("grant.returningCustomer", customer, address(registry), abi.encodeCall(registry.grant, (terms)));
    }

    function test_revoke() public {
        _grant(brands[0]);
        _measure("revoke", customer, address(registry), abi.encodeCall(registry.revoke, (customer, brands[0], PURPOSE)));
    }

    function test_revokeBySig() public {
        _grantBySig("", brands[1], 1);
        _grant(brands[0]);
        IConsentRegistry.SignatureTiming memory t = _timing(2);
        bytes32 structHash = keccak256(
            abi.encode(keccak256(bytes(REVOKE_TYPE)), customer, brands[0], PURPOSE, t.signedAt, t.nonce, t.deadline)
        );
        bytes memory signature = _sign(structHash);
        _measure(
            "revokeBySig",
            relayer,
            address(registry),
            abi.encodeCall(registry.revokeBySig, (customer, brands[0], PURPOSE, t, signature))
        );
    }

    function _timing(uint256 nonce) private view returns (IConsentRegistry.SignatureTiming memory) {
        // forge-lint: disable-next-line(unsafe-typecast)
        return IConsentRegistry.SignatureTiming({
            signedAt: uint40(block.timestamp), nonce: nonce, deadline: block.timestamp + 1 hours
        });
    }

    /// @dev Relays a signed grant; measured under `name` unless it is empty (setup).
    function _grantBySig(string memory name, address brand, uint256 nonce) private {
        IConsentRegistry.GrantTerms memory terms = _terms(brand);
        IConsentRegistry.SignatureTiming memory t = _timing(nonce);
        bytes32 structHash = keccak256(
            bytes.concat(
                abi.encode(
                    keccak256(bytes(GRANT_TYPE)),
                    terms.customer,
                    terms.brand,
                    terms.purpose,
                    terms.categories,
                    terms.expiresAt
                ),
                abi.encode(terms.price, terms.receiptHash, terms.noticeHash, t.signedAt, t.nonce, t.deadline)
            )
        );
        bytes memory signature = _sign(structHash);
        bytes memory data = abi.encodeCall(registry.grantBySig, (terms, t, signature));
        if (bytes(name).length == 0) {
            vm.prank(relayer);
            (bool ok,) = address(registry).call(data);
            require(ok, "setup grant failed");
        } else {
            _measure(name, relayer, address(registry), data);
        }
    }

    function _grant(address brand) private {
        vm.prank(customer);
        registry.grant(_terms(brand));
    }

    function _terms(address brand) private view returns (IConsentRegistry.GrantTerms memory) {
        return IConsentRegistry.GrantTerms({
            customer: customer,
            brand: brand,
            purpose: PURPOSE,
            categories: 0x2d,
            // forge-lint: disable-next-line(unsafe-typecast)
            expiresAt: uint40(block.timestamp + 365 days),
            price: 3e15,
            receiptHash: keccak256("receipt"),
            noticeHash: keccak256("notice v3")
        });
    }

    function _sign(bytes32 structHash) private view returns (bytes memory) {
        bytes32 digest = keccak256(abi.encodePacked("\x19\x01", registry.DOMAIN_SEPARATOR(), structHash));
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(customerKey, digest);
        return abi.encodePacked(r, s, v);
    }
}

/// @notice Access logging: one batch of consenting customers, recorded by the RECORDER_ROLE within
/// the brand's allowance, each customer checked against the price the brand agreed to, duplicates
/// detected, the total reserved in the brand's budget at the distributor.
contract AccessGas is GasBench {
    uint8 private constant PURPOSE = 1;
    uint64 private constant CATEGORIES = 0x0f;
    uint256 private constant MAX_BATCH = 500;

    address[] private customers;

    function setUp() public override {
        super.setUp();
        for (uint256 i; i < MAX_BATCH; ++i) {
            address customer = _account("customer", i);
            customers.push(customer);
            vm.prank(customer);
            registry.grant(
                IConsentRegistry.GrantTerms({
                    customer: customer,
                    brand: brands[0],
                    purpose: PURPOSE,
                    categories: 0xff,
                    // forge-lint: disable-next-line(unsafe-typecast)
                    expiresAt: uint40(block.timestamp + 365 days),
                    price: uint96(1e15 + i),
                    receiptHash: keccak256(abi.encode("receipt", i)),
                    noticeHash: keccak256("notice v3")
                })
            );
        }
    }

    function test_recordAccess_1() public {
        _recordAccess(1);
    }

    function test_recordAccess_100() public {
        _recordAccess(100);
    }

    function test_recordAccess_500() public {
        _recordAccess(500);
    }

    function _recordAccess(uint256 n) private {
        address[] memory batch = new address[](n);
        uint96[] memory maxPrices = new uint96[](n);
        for (uint256 i; i < n; ++i) {
            batch[i] = customers[i];
            maxPrices[i] = 2e15;
        }
        _measure(
            string.concat("recordAccess.", vm.toString(n)),
            recorder,
            address(registry),
            abi.encodeCall(
                registry.recordAccess, (brands[0], PURPOSE, CATEGORIES, batch, maxPrices, keccak256("request-42"))
            )
        );
    }
}

/// @notice Epoch publication: one pending root per epoch, whatever the number of customers.
/// Earlier epochs are published and finalised (`finalizeEpoch`) before the measured one.
contract EpochGas is GasBench {
    uint256 private constant DEBIT = 250e18;

    function test_publishEpoch_first_0() public {
        _publish(1, 0);
    }

    function test_publishEpoch_first_1() public {
        _publish(1, 1);
    }

    function test_publishEpoch_first_5() public {
        _publish(1, 5);
    }

    function test_publishEpoch_second_0() public {
        _publish(2, 0);
    }

    function test_publishEpoch_second_1() public {
        _publish(2, 1);
    }

    function test_publishEpoch_second_5() public {
        _publish(2, 5);
    }

    function test_publishEpoch_third_0() public {
        _publish(3, 0);
    }

    function test_publishEpoch_third_1() public {
        _publish(3, 1);
    }

    function test_publishEpoch_third_5() public {
        _publish(3, 5);
    }

    /// @dev The first finalisation: the claimable root and the distributor's balance are created.
    function test_finalizeEpoch_first() public {
        vm.prank(operator);
        distributor.publishEpoch(1, _root(1), _commitment(1), _debits(1, DEBIT), new IRewardDistributor.Credit[](0), 0);
        vm.warp(block.timestamp + WINDOW);
        _measure(
            "finalizeEpoch.first",
            makeAddr("anyone"),
            address(distributor),
            abi.encodeCall(distributor.finalizeEpoch, ())
        );
    }

    /// @dev A later finalisation (steady state).
    function test_finalizeEpoch_later() public {
        _publishAndFinalize(1, _root(1), _debits(1, DEBIT));
        vm.prank(operator);
        distributor.publishEpoch(2, _root(2), _commitment(2), _debits(1, DEBIT), new IRewardDistributor.Credit[](0), 0);
        vm.warp(block.timestamp + WINDOW);
        _measure(
            "finalizeEpoch.later",
            makeAddr("anyone"),
            address(distributor),
            abi.encodeCall(distributor.finalizeEpoch, ())
        );
    }

    /// @dev The auditor vetoes a pending epoch that debited one brand.
    function test_vetoEpoch_1() public {
        _publishAndFinalize(1, _root(1), _debits(1, DEBIT));
        IRewardDistributor.Debit[] memory debits = _debits(1, DEBIT);
        vm.prank(operator);
        distributor.publishEpoch(2, _root(2), _commitment(2), debits, new IRewardDistributor.Credit[](0), 0);
        _measure("vetoEpoch.1", auditor, address(distributor), abi.encodeCall(distributor.vetoEpoch, (2, debits)));
    }

    /// @dev Publishes and finalises epochs before `epoch` (one brand debited each), then measures
    /// publishing `epoch` debiting `n` brands. Budgets stay above zero, as they normally do.
    function _publish(uint64 epoch, uint256 n) private {
        for (uint64 e = 1; e < epoch; ++e) {
            // Earlier epochs debit other amounts, as real ones do: identical debits would leave
            // the stored debits hash unchanged and make the measured epoch look 2,800 gas cheaper.
            _publishAndFinalize(e, _root(e), _debits(1, DEBIT + e));
        }
        string[3] memory which = ["first", "second", "third"];
        _measure(
            string.concat("publishEpoch.", which[epoch - 1], ".", vm.toString(n)),
            operator,
            address(distributor),
            abi.encodeCall(
                distributor.publishEpoch,
                (epoch, _root(epoch), _commitment(epoch), _debits(n, DEBIT), new IRewardDistributor.Credit[](0), 0)
            )
        );
    }

    function _root(uint64 epoch) private pure returns (bytes32) {
        return keccak256(abi.encode("root", epoch));
    }

    function _commitment(uint64 epoch) private pure returns (bytes32) {
        return keccak256(abi.encode("commitment", epoch));
    }
}

/// @notice Claims against a depth-20 tree (2^20 leaves' worth of proof).
/// @dev Only the part of the tree the claimants sit in is real: their leaves fill a subtree of
/// depth `SUBTREE_DEPTH`; the remaining levels up to the root use arbitrary sibling hashes shared
/// by every claimant. Hashing is OpenZeppelin's sorted-pair keccak256; leaves are
/// StandardMerkleTree leaves of (account, cumulative, salt).
contract ClaimGas is GasBench {
    uint256 private constant DEPTH = 20;
    uint256 private constant SUBTREE_DEPTH = 6;
    uint256 private constant BATCH = 50;
    uint256 private constant FIRST_REWARD = 4e18;
    uint256 private constant SECOND_REWARD = 3e18;

    address private relayer = makeAddr("relayer");
    address[] private accounts;
    bytes32[] private salts;

    function setUp() public override {
        super.setUp();
        for (uint256 i; i < BATCH; ++i) {
            accounts.push(_account("claimant", i));
            salts.push(keccak256(abi.encode("salt", i)));
        }
    }

    function test_claim_first() public {
        (bytes32 root, bytes32[][] memory proofs) = _tree(_amounts(1, 1));
        _publishAndFinalize(1, root, _debits(1, FIRST_REWARD));
        _measure(
            "claim.first",
            relayer,
            address(distributor),
            abi.encodeCall(distributor.claim, (accounts[0], FIRST_REWARD, salts[0], proofs[0]))
        );
    }

    function test_claim_later() public {
        (bytes32 root, bytes32[][] memory proofs) = _tree(_amounts(1, 1));
        _publishAndFinalize(1, root, _debits(1, FIRST_REWARD));
        distributor.claim(accounts[0], FIRST_REWARD, salts[0], proofs[0]);
        (root, proofs) = _tree(_amounts(1, 2));
        _publishAndFinalize(2, root, _debits(1, SECOND_REWARD));
        _measure(
            "claim.later",
            relayer,
            address(distributor),
            abi.encodeCall(distributor.claim, (accounts[0], FIRST_REWARD + SECOND_REWARD, salts[0], proofs[0]))
        );
    }

    function test_claimMany_first() public {
        uint256[] memory amounts = _amounts(BATCH, 1);
        (bytes32 root, bytes32[][] memory proofs) = _tree(amounts);
        _publishAndFinalize(1, root, _debits(1, FIRST_REWARD * BATCH));
        _measure(
            string.concat("claimMany.first.", vm.toString(BATCH)),
            relayer,
            address(distributor),
            abi.encodeCall(distributor.claimMany, (accounts, amounts, salts, proofs))
        );
    }

    function test_claimMany_later() public {
        uint256[] memory amounts = _amounts(BATCH, 1);
        (bytes32 root, bytes32[][] memory proofs) = _tree(amounts);
        _publishAndFinalize(1, root, _debits(1, FIRST_REWARD * BATCH));
        distributor.claimMany(accounts, amounts, salts, proofs);
        amounts = _amounts(BATCH, 2);
        (root, proofs) = _tree(amounts);
        _publishAndFinalize(2, root, _debits(1, SECOND_REWARD * BATCH));
        _measure(
            string.concat("claimMany.later.", vm.toString(BATCH)),
            relayer,
            address(distributor),
            abi.encodeCall(distributor.claimMany, (accounts, amounts, salts, proofs))
        );
    }

    /// @dev Cumulative amounts of the first `n` accounts after `epochs` epochs.
    function _amounts(uint256 n, uint256 epochs) private pure returns (uint256[] memory amounts) {
        amounts = new uint256[](n);
        for (uint256 i; i < n; ++i) {
            amounts[i] = epochs == 1 ? FIRST_REWARD : FIRST_REWARD + SECOND_REWARD;
        }
    }

    /// @dev Root and depth-`DEPTH` proofs for accounts[i] holding cumulative amounts[i].
    function _tree(uint256[] memory amounts) private view returns (bytes32 root, bytes32[][] memory proofs) {
        uint256 width = 1 << SUBTREE_DEPTH;
        bytes32[][] memory levels = new bytes32[][](SUBTREE_DEPTH + 1);
        levels[0] = new bytes32[](width);
        for (uint256 i; i < width; ++i) {
            // Unused slots of the subtree hold other customers' leaves; any hash will do.
            levels[0][i] = i < amounts.length
                ? keccak256(bytes.concat(keccak256(abi.encode(accounts[i], amounts[i], salts[i]))))
                : keccak256(abi.encode("other leaf", i));
        }
        for (uint256 d = 1; d <= SUBTREE_DEPTH; ++d) {
            levels[d] = new bytes32[](width >> d);
            for (uint256 i; i < levels[d].length; ++i) {
                levels[d][i] = Hashes.commutativeKeccak256(levels[d - 1][2 * i], levels[d - 1][2 * i + 1]);
            }
        }
        root = levels[SUBTREE_DEPTH][0];
        bytes32[] memory upper = new bytes32[](DEPTH - SUBTREE_DEPTH);
        for (uint256 d; d < upper.length; ++d) {
            upper[d] = keccak256(abi.encode("sibling", d));
            root = Hashes.commutativeKeccak256(root, upper[d]);
        }
        proofs = new bytes32[][](amounts.length);
        for (uint256 i; i < amounts.length; ++i) {
            proofs[i] = new bytes32[](DEPTH);
            for (uint256 d; d < SUBTREE_DEPTH; ++d) {
                proofs[i][d] = levels[d][(i >> d) ^ 1];
            }
            for (uint256 d; d < upper.length; ++d) {
                proofs[i][SUBTREE_DEPTH + d] = upper[d];
            }
        }
    }
}

/// @notice Reference: paying one customer by a plain CASH transfer to a new holder instead of a
/// Merkle claim (minting is no longer open to anyone but the distributor's `fund`).
contract TransferGas is GasBench {
    function test_transfer_newHolder() public {
        vm.prank(brands[0]);
        distributor.withdraw(1e20, brands[0]);
        _measure(
            "transfer.newHolder",
            brands[0],
            address(token),
            abi.encodeCall(token.transfer, (_account("customer", 0), 4e18))
        );
    }
}

/// @notice Spending CASH: one relayed permit-and-pay (permit, Payment signature, transferFrom) to
/// a brand that already holds CASH, from a customer paying for the first time (permit nonce 0→1)
/// and from one who paid before (nonce 1→2).
contract PaymentGas is GasBench, PaymentSigner {
    PaymentRouter private router;
    address private payer;
    uint256 private payerKey;
    address private relayer = makeAddr("relayer");

    function setUp() public override {
        super.setUp();
        router = new PaymentRouter(address(token));
        (payer, payerKey) = makeAddrAndKey("payer");
        vm.startPrank(brands[0]);
        distributor.withdraw(1e20, payer);
        distributor.withdraw(1e18, brands[0]);
        vm.stopPrank();
    }

    function _pay(string memory name) private {
        IPaymentRouter.Payment memory p =
            _payment(token, payer, brands[0], 4e18, keccak256(abi.encode("purchase", name)), block.timestamp + 1 hours);
        IPaymentRouter.PermitSignature memory permit = _signPermit(token, router, payerKey, p);
        bytes memory sig = _signPayment(router, payerKey, p);
        _measure(name, relayer, address(router), abi.encodeCall(router.pay, (p, permit, sig)));
    }

    function test_pay_first() public {
        _pay("pay.first");
    }

    function test_pay_returning() public {
        IPaymentRouter.Payment memory p = _payment(token, payer, brands[0], 1e18, bytes32(0), block.timestamp + 1 hours);
        router.pay(p, _signPermit(token, router, payerKey, p), _signPayment(router, payerKey, p));
        _pay("pay.returning");
    }
}

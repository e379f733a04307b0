"""The typed chain clients on a real anvil: typed results, one exception class per custom error, the event reader."""

from __future__ import annotations

import pytest
from eth_account import Account

from app.chain import errors
from app.chain.compiler import load_abis
from app.chain.errors import ContractRevert, decode_revert
from app.chain.events import ChainEvent, read_events
from app.chain.gateway import ChainGateway
from app.chain.registry import AccessLimits, Consent
from app.errors import ChainRefused

pytestmark = pytest.mark.chain


def test_every_custom_error_of_the_abis_has_its_own_class() -> None:
    declared = {item["name"] for abi in load_abis().values() for item in abi if item.get("type") == "error"}
    assert declared == set(errors.all_errors())
    for name in declared:
        cls = getattr(errors, name)
        assert cls.__name__ == name and issubclass(cls, ContractRevert) and issubclass(cls, ChainRefused)
    assert errors.NotANarrowing is not errors.InvalidProof


def test_revert_data_decodes_into_its_class_with_named_arguments() -> None:
    cls = errors.SignatureExpired
    refused = decode_revert(cls.selector + (1234).to_bytes(32, "big"))
    assert isinstance(refused, errors.SignatureExpired) and not isinstance(refused, errors.InvalidSignature)
    assert refused.args_ == {"deadline": 1234}
    assert refused.detail == {"error": "SignatureExpired", "args": {"deadline": 1234}}  # the API's 409 body


def test_a_client_names_only_its_contracts_errors(settings) -> None:
    chain = ChainGateway(settings)
    assert chain.registry.errors.NotANarrowing is errors.NotANarrowing
    assert chain.distributor.errors.InvalidProof is errors.InvalidProof
    with pytest.raises(AttributeError):
        chain.registry.errors.InvalidProof  # noqa: B018 - a distributor's error, not the registry's
    with pytest.raises(AttributeError):
        errors.NoSuchError  # noqa: B018


def test_a_refused_write_raises_its_custom_error(settings) -> None:
    chain = ChainGateway(settings)
    with pytest.raises(chain.distributor.errors.NoPendingEpoch) as refused:
        chain.distributor.finalize_epoch()
    assert refused.value.name == "NoPendingEpoch" and refused.value.code == "chain_refused"
    with pytest.raises(chain.registry.errors.BrandAlreadyRegistered):
        brand = Account.create().address
        chain.registry.register_brand(brand)
        chain.registry.register_brand(brand)


def test_reads_return_typed_results(settings) -> None:
    chain = ChainGateway(settings)
    brand, customer = Account.create().address, Account.create().address
    sent = chain.registry.register_brand(brand)
    assert chain.registry.is_brand(brand) and not chain.registry.is_brand(customer)
    assert chain.registry.consent_of(customer, brand, 1) == Consent(0, 0, 0, 0, "0x" + "00" * 32, "0x" + "00" * 32)
    assert chain.registry.access_limits_of(brand) == AccessLimits(0, 0, 0)
    pending = chain.distributor.pending_epoch()
    assert (pending.epoch, pending.root) == (0, "0x" + "00" * 32)
    assert chain.vault.distributor() == chain.deployment.distributor
    assert chain.vault.holdings() == chain.token.balance_of(chain.deployment.vault) == 0
    assert chain.token.decimals() == 18
    receipt = chain.receipt(sent.tx_hash)
    assert receipt is not None and receipt.succeeded and receipt.block_number == sent.block_number


def test_read_events_gives_the_audit_every_event_with_where_it_sits(settings) -> None:
    chain = ChainGateway(settings)
    brand = Account.create().address
    sent = chain.registry.register_brand(brand)
    events = read_events(chain, to_block=chain.head)
    registered = [e for e in events if e.name == "BrandRegistered"]
    assert [e.args["brand"] for e in registered] == [brand]
    (e,) = registered
    assert isinstance(e, ChainEvent) and e.contract == "ConsentRegistry"
    assert (e.block, e.tx_hash) == (sent.block_number, sent.tx_hash.lower())
    assert e.timestamp == chain.block(e.block).timestamp and e.block_time.tzinfo is not None
    assert [(x.block, x.log_index) for x in events] == sorted((x.block, x.log_index) for x in events)

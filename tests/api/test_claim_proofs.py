"""Claims from corrupt tree files, and the auditors' tree dump checked with OpenZeppelin's StandardMerkleTree (npm)."""

from __future__ import annotations

import pytest

from app import db
from app.chain.merkle import Leaf, verify
from app.chain.proofs import TreeFiles
from tests import factories
from tests.conftest import sign_in
from tests.factories import flip, flip_sibling_of, openzeppelin, proofs_check, settle_epoch

pytestmark = pytest.mark.chain


@pytest.fixture()
def engine(client, settings):  # `client` first: its start-up applies the migrations
    engine = db.make_engine(settings.sqlalchemy_url)
    yield engine
    engine.dispose()


@pytest.fixture()
def settled(client, settings, engine, w3, deployment_of, operator, dev_accounts):
    d = deployment_of(settings)
    headers = sign_in(client, dev_accounts[0])
    customers = settle_epoch(settings, engine, w3, d, operator, dev_accounts)
    token, _, distributor = factories.contracts(w3, d)
    return customers, headers, token, distributor


def served_proof_verifies(claim: dict, address: str, root: bytes) -> bool:
    salt = bytes.fromhex(claim["salt"][2:]) if claim["salt"] else None
    leaf = Leaf(address.lower(), int(claim["cumulative"]), salt)
    return verify([bytes.fromhex(p[2:]) for p in claim["proof"]], root, leaf)


def test_get_claim_serves_a_valid_proof_from_a_flipped_tree_file(client, settings, engine, settled) -> None:
    customers, headers, _, distributor = settled
    alice = customers[0]
    flip_sibling_of(settings, alice.address)
    stale = TreeFiles(settings.data_dir / "epochs" / "1").proof(alice.address)
    assert stale is not None and not stale.verifies()  # what the old code served

    claim = client.get("/me/claim", headers=headers).json()
    assert served_proof_verifies(claim, alice.address, distributor.functions.pendingEpoch().call()[1])
    assert TreeFiles(settings.data_dir / "epochs" / "1").proof(alice.address).verifies()  # rebuilt on disk
    _, proofs = proofs_check(settings, engine)
    assert proofs["status"] == "ok"


def test_post_claim_pays_after_rebuilding_a_corrupt_file(client, settings, engine, settled) -> None:
    customers, headers, token, _ = settled
    alice = customers[0]
    flip_sibling_of(settings, alice.address)
    sent = client.post("/me/claim", headers=headers)
    assert sent.status_code == 200, sent.text  # the old code answered 409 InvalidProof
    assert token.functions.balanceOf(alice.address).call() == int(sent.json()["amount"]) > 0


@pytest.mark.parametrize("damage", ["amount", "missing leaves", "no files"])
def test_claim_rebuilds_wrong_leaves_or_missing_files(client, settings, settled, damage: str) -> None:
    customers, headers, _, distributor = settled
    alice = customers[0]
    directory = settings.data_dir / "epochs" / "1"
    position = [r.leaf.account for r in TreeFiles(directory).records()].index(alice.address.lower())
    if damage == "amount":
        flip(directory / "leaves.bin", position * 88 + 40)
    elif damage == "missing leaves":
        (directory / "leaves.bin").write_bytes(b"")
    else:
        for name in ("leaves.bin", "tree.bin", "tree.json", "standard-tree.json"):
            (directory / name).unlink()
    claim = client.get("/me/claim", headers=headers).json()
    assert int(claim["claimable"]) > 0
    assert served_proof_verifies(claim, alice.address, distributor.functions.pendingEpoch().call()[1])


def test_auditors_tree_dump_loads_to_the_on_chain_root_and_verifies_served_proofs(
    client, settings, settled, auditor_headers, dev_accounts, tmp_path
) -> None:
    customers, headers, _, distributor = settled
    response = client.get("/ledger/epochs/1/tree", headers=auditor_headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    dump = response.json()
    assert dump["format"] == "standard-v1" and len(dump["values"]) == len(customers)
    root = "0x" + distributor.functions.pendingEpoch().call()[1].hex()
    claims = [client.get("/me/claim", headers=sign_in(client, c)).json() for c in customers]
    values = [
        [c.address.lower(), claim["cumulative"], *([claim["salt"]] if claim["salt"] else [])]
        for c, claim in zip(customers, claims, strict=True)
    ]
    result = openzeppelin(
        {
            "leafEncoding": dump["leafEncoding"],
            "values": values,
            "root": root,
            "dump": dump,
            "proofs": [{"value": v, "proof": claim["proof"]} for v, claim in zip(values, claims, strict=True)],
        },
        tmp_path,
    )
    assert result["loadRoot"] == root  # StandardMerkleTree.load(dump).root == the on-chain root
    assert result["ofRoot"] == root  # StandardMerkleTree.of(the customers' own leaves) too
    assert result["proofsVerified"] == [True] * len(customers)  # every proof served to a customer


def test_tree_dump_is_for_auditors_and_is_rebuilt_when_missing(client, settings, settled, auditor_headers) -> None:
    _, headers, _, _ = settled
    assert client.get("/ledger/epochs/1/tree").status_code == 401
    assert client.get("/ledger/epochs/1/tree", headers=headers).status_code == 403  # a customer sees only their own
    assert client.get("/ledger/epochs/2/tree", headers=auditor_headers).status_code == 404
    too_big = client.get(f"/ledger/epochs/{2**70}/tree", headers=auditor_headers)
    assert too_big.status_code == 422 and "epoch" in too_big.text
    (settings.data_dir / "epochs" / "1" / "standard-tree.json").unlink()
    again = client.get("/ledger/epochs/1/tree", headers=auditor_headers)
    assert again.status_code == 200 and again.json()["format"] == "standard-v1"

"""Audit check: money balances. Budgets, published and finalised totals, the token's supply and holders, claims.

Every figure is counted from the chain's events and compared with the contracts' state at the
audited block; claims are bounded by the cumulative amounts the epoch check recomputed.
"""

from __future__ import annotations

from collections import defaultdict

from eth_utils import to_checksum_address

from app.audit.chain import ChainEvent, ChainReader, decode_claim, decode_debits, decode_epoch
from app.audit.checks import where
from app.audit.checks.settlement import live_publications
from app.audit.report import CheckResult

DEPLOYMENT_SEED = 0  # CASH reaches the distributor only from the vault, at finalisation (docs/contracts.md)
MAX_BALANCE_CALLS = 10_000  # token holders whose balanceOf is asked at the audited block
ZERO_ADDRESS = "0x" + "00" * 20


def check_money(
    result: CheckResult,
    chain: ChainReader,
    events: list[ChainEvent],
    head: int,
    vault: str,
    latest: dict[str, int],
) -> None:
    """Fills `result`; `latest` is each account's latest cumulative amount recomputed from the records."""
    distributor = chain.deployment.distributor.lower()
    deposits: dict[str, int] = defaultdict(int)
    withdrawals: dict[str, int] = defaultdict(int)
    debits: dict[str, int] = defaultdict(int)
    totals = 0
    claims: dict[str, list[int]] = defaultdict(lambda: [0, 0])  # account -> [sum of amounts, last cumulative]
    balances: dict[str, int] = defaultdict(int)
    mints = burns = 0
    into_distributor = from_vault_to_distributor = out_of_distributor = 0
    into_vault = 0
    funded = finalized = 0
    reserved: dict[str, int] = defaultdict(int)
    live = {(e.block, e.log_index) for e in live_publications(events)}
    for e in events:
        a = e.args
        if e.name in ("BudgetDeposited", "BudgetFunded"):
            deposits[a["brand"].lower()] += int(a["amount"])
            funded += int(a["amount"]) if e.name == "BudgetFunded" else 0
        elif e.name in ("BudgetWithdrawn", "RetiredBudgetReturned"):
            withdrawals[a["brand"].lower()] += int(a["amount"])
        elif e.name == "BudgetReserved":
            reserved[a["brand"].lower()] += int(a["amount"])
        elif e.name == "ReserveReleased":
            reserved[a["brand"].lower()] -= int(a["amount"])
        elif e.name == "EpochFinalized":
            finalized += int(a["total"])
        elif e.name == "EpochPublished" and (e.block, e.log_index) in live:  # a vetoed one restored all
            number, _, _, total, pairs = decode_epoch(a)
            if sum(amount for _, amount in pairs) != total:
                result.fail(
                    where(e, epoch=number),
                    str(sum(x for _, x in pairs)),
                    str(total),
                    "the event's total is not the sum of its debits",
                )
            totals += total
            for brand, amount in pairs:
                debits[brand.lower()] += amount
            for brand, from_reserve, _ in decode_debits(a):
                reserved[brand.lower()] -= from_reserve
        elif e.name == "Claimed":
            account, amount, cumulative = decode_claim(a)
            c = claims[account.lower()]
            c[0] += amount
            if cumulative - amount != c[1]:
                result.fail(
                    where(e, account=account),
                    str(c[1] + amount),
                    str(cumulative),
                    "a claim's cumulative amount does not follow the account's earlier claims",
                )
            c[1] = cumulative
        elif e.name == "Transfer":
            sender, recipient, amount = a["from"].lower(), a["to"].lower(), int(a["value"])
            if sender == ZERO_ADDRESS:
                mints += amount
            else:
                balances[sender] -= amount
            if recipient == ZERO_ADDRESS:
                burns += amount
            else:
                balances[recipient] += amount
            if recipient == distributor:
                into_distributor += amount
                if sender == vault:
                    from_vault_to_distributor += amount
            if sender == distributor:
                out_of_distributor += amount
            if recipient == vault:
                into_vault += amount

    # Brands: deposits = withdrawals + debits + remaining budget.
    brands_rows = []
    budgets_total = 0
    for brand in sorted(set(deposits) | set(withdrawals) | set(debits)):
        budget = chain.budget_of(brand, block=head)
        budgets_total += budget
        row = {
            "brand": to_checksum_address(brand),
            "deposited": deposits[brand],
            "withdrawn": withdrawals[brand],
            "debited": debits[brand],
            "remaining": budget,
        }
        brands_rows.append(row)
        if deposits[brand] != withdrawals[brand] + debits[brand] + budget:
            result.fail(
                {"brand": row["brand"]},
                str(deposits[brand]),
                str(withdrawals[brand] + debits[brand] + budget),
                f"deposits {deposits[brand]} != withdrawals {withdrawals[brand]} + debits "
                f"{debits[brand]} + budgetOf {budget} at block {head}",
            )
        on_reserve = chain.reserved_of(brand, block=head)
        row["reserved"] = on_reserve
        if on_reserve != reserved[brand]:
            result.fail(
                {"brand": row["brand"], "field": "reserved"},
                str(reserved[brand]),
                str(on_reserve),
                "reservedOf differs from the reserves recorded accesses took minus what epochs settled",
            )
        if on_reserve > budget:
            result.fail(
                {"brand": row["brand"], "field": "reserved"},
                f"<= {budget}",
                str(on_reserve),
                "the brand's reserve exceeds its budget: recorded accesses could not all be settled",
            )

    # Published totals = claimed + claimable. The distributor holds exactly the released epoch totals
    # minus the claims, plus what reached it otherwise: the deployment's 1-unit seed and any direct
    # ERC-20 transfer (a "donation" nobody can claim). Those are counted from the Transfer events.
    distributor_balance = chain.balance_of(distributor, block=head)
    claimed_total = sum(c[0] for c in claims.values())
    outside = into_distributor - from_vault_to_distributor  # seed + donations
    donations = outside - DEPLOYMENT_SEED
    claimable = distributor_balance - outside
    allocated = chain.total_allocated(block=head)
    # Only finalised epochs reach the distributor; a pending one's total stays in the vault.
    pending = totals - finalized
    if finalized != claimed_total + claimable:
        result.fail(
            {"contract": "RewardDistributor"},
            str(finalized),
            str(claimed_total + claimable),
            f"finalised totals {finalized} != claimed {claimed_total} + claimable {claimable} "
            f"(distributor balance {distributor_balance} minus {outside} seed and donations)",
        )
    if from_vault_to_distributor != finalized:
        result.fail(
            {"contract": "BudgetVault"},
            str(finalized),
            str(from_vault_to_distributor),
            "the vault did not release exactly the finalised epoch totals to the distributor",
        )
    if out_of_distributor != claimed_total:
        result.fail(
            {"contract": "RewardDistributor"},
            str(claimed_total),
            str(out_of_distributor),
            "tokens left the distributor other than by claims",
        )
    if allocated != finalized:
        result.fail(
            {"contract": "RewardDistributor", "field": "totalAllocated"},
            str(finalized),
            str(allocated),
            "totalAllocated() differs from the sum of EpochFinalized totals",
        )
    if donations < 0:
        result.fail(
            {"contract": "RewardDistributor"},
            f">= {DEPLOYMENT_SEED}",
            str(outside),
            "the deployment seed never reached the distributor",
        )
    vault_balance = chain.balance_of(vault, block=head)
    vault_donations = into_vault - sum(deposits.values())
    if vault_balance != budgets_total + pending + vault_donations:
        result.fail(
            {"contract": "BudgetVault"},
            str(budgets_total + pending + vault_donations),
            str(vault_balance),
            f"the vault holds {vault_balance}, budgets add up to {budgets_total} plus {pending} of a pending "
            f"epoch plus {vault_donations} transferred in directly",
        )
    # Money is only created by funding (the only mint), and all of it is somewhere: claimed, allocated
    # and unclaimed, in a pending epoch, in a budget, or withdrawn (and returned) to its brand.
    total_funded = chain.total_funded(block=head)
    if not total_funded == funded == mints:
        result.fail(
            {"contract": "RewardDistributor", "field": "totalFunded"},
            str(funded),
            str(total_funded),
            f"BudgetFunded events add up to {funded}, totalFunded() says {total_funded}, CASH minted {mints}",
        )
    paid_in, paid_out = sum(deposits.values()), sum(withdrawals.values())
    if paid_in != claimed_total + claimable + pending + budgets_total + paid_out:
        result.fail(
            {"contract": "RewardDistributor", "field": "funded"},
            str(paid_in),
            str(claimed_total + claimable + pending + budgets_total + paid_out),
            f"funded and deposited {paid_in} != claimed {claimed_total} + allocated unclaimed {claimable} + "
            f"pending {pending} + remaining budgets {budgets_total} + withdrawn {paid_out}",
        )

    # Token: supply = mints - burns, and every holder's balance is what the transfers leave it.
    supply = chain.total_supply(block=head)
    if supply != mints - burns:
        result.fail(
            {"contract": "CashbackToken", "field": "totalSupply"},
            str(mints - burns),
            str(supply),
            f"totalSupply at block {head} is not mints {mints} minus burns {burns}",
        )
    holders = sorted(a for a, b in balances.items() if b != 0 or a in (distributor, vault))
    checked = 0
    for holder in holders[:MAX_BALANCE_CALLS]:
        on_chain = chain.balance_of(holder, block=head)
        checked += 1
        if on_chain != balances[holder]:
            result.fail(
                {"holder": to_checksum_address(holder)},
                str(balances[holder]),
                str(on_chain),
                "balanceOf differs from the balance the Transfer events leave",
            )
    if sum(balances.values()) != supply:
        result.fail(
            {"contract": "CashbackToken"},
            str(supply),
            str(sum(balances.values())),
            "the holders' balances do not add up to the total supply",
        )

    # Claims: claimed(account) <= the latest cumulative amount recomputed from the records.
    for account, (amount_sum, last) in sorted(claims.items()):
        on_chain = chain.claimed(account, block=head)
        record = {"account": to_checksum_address(account)}
        if on_chain != last or amount_sum != last:
            result.fail(
                record,
                str(last),
                str(on_chain),
                f"claimed() says {on_chain}; the Claimed events add up to {amount_sum}, last cumulative {last}",
            )
        if last > latest.get(account, 0):
            result.fail(
                record,
                f"<= {latest.get(account, 0)}",
                str(last),
                "claimed more than the latest cumulative amount recomputed from the records",
            )

    result.figures = {
        "brands": brands_rows,
        "deposited": sum(deposits.values()),
        "withdrawn": sum(withdrawals.values()),
        "debited": sum(debits.values()),
        "remaining_budgets": budgets_total,
        "published_totals": totals,
        "finalised_totals": finalized,
        "pending_total": pending,
        "funded": funded,
        "claimed": claimed_total,
        "claimable": claimable,
        "distributor_balance": distributor_balance,
        "deployment_seed": DEPLOYMENT_SEED,
        "donations_to_distributor": donations,
        "donations_to_vault": vault_donations,
        "token_supply": supply,
        "minted": mints,
        "burned": burns,
        "holders": len(holders),
        "holders_checked": checked,
        "claimants": len(claims),
    }
    result.summary = (
        f"{len(brands_rows)} brands, published {totals} = claimed {claimed_total} + claimable {claimable}; "
        f"supply {supply} over {len(holders)} holders ({checked} balances asked)"
    )

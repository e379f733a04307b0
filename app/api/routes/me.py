"""The signed-in customer's own view: tier and scores with history, interests, rewards, accesses, claims."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app import clock
from app.api.deps import ChainDep, CurrentCustomer, FreshMirrorDep, SessionDep, SettingsDep
from app.api.schemas import MAX_OFFSET, DocumentedRoute, Id, errors
from app.api.schemas.me import (
    BalancePublic,
    ClaimablePublic,
    ClaimSent,
    CustomerAccessPublic,
    ErasurePublic,
    InterestPublic,
    InterestsPublic,
    PersonalData,
    ProfilePublic,
    RewardEpochPublic,
    RewardLinePublic,
    ScorePublic,
    at_epoch,
)
from app.api.schemas.my_data import ExportPublic, MyDataPublic
from app.services import data_export, my_data, privacy, wallet

router = APIRouter(prefix="/me", tags=["me"], route_class=DocumentedRoute, responses=errors(404, 409))


@router.get("/profile")
def read_profile(*, customer: CurrentCustomer, session: SessionDep) -> ProfilePublic:
    """My RFM scores, segment and tier now and at every epoch (customer)."""
    history = [
        ScorePublic.model_validate(at_epoch(e, s), from_attributes=True)
        for e, s in wallet.score_history(session, customer)
    ]
    return ProfilePublic(address=customer.address, current=history[-1] if history else None, history=history)


@router.get("/interests")
def read_interests(*, customer: CurrentCustomer, settings: SettingsDep) -> InterestsPublic:
    """My interest profile by category and style, as a brand with full consent would see it (customer)."""
    as_of = clock.utcnow()
    profile, styles = wallet.interests(settings, customer, as_of=as_of)

    def pick(dimension: str) -> list[InterestPublic]:
        rows = profile[profile["dimension"] == dimension]
        return [InterestPublic(value=r.value, score=float(r.score), signals=int(r.signals)) for r in rows.itertuples()]

    return InterestsPublic(
        as_of=as_of, categories=pick("category"), styles=pick("style"), top_styles=list(styles["style"])
    )


@router.get("/rewards")
def read_rewards(*, customer: CurrentCustomer, session: SessionDep) -> list[RewardEpochPublic]:
    """What I earned in each epoch, from purchases and from data accesses (customer)."""
    return [
        RewardEpochPublic.model_validate(at_epoch(e, r), from_attributes=True)
        for e, r in wallet.rewards_by_epoch(session, customer.address)
    ]


@router.get("/rewards/{epoch}")
def read_reward_lines(
    *, epoch: Annotated[Id, Path(description="The epoch number")], customer: CurrentCustomer, session: SessionDep
) -> list[RewardLinePublic]:
    """Every purchase and data access behind my reward in one epoch (customer)."""
    return [
        RewardLinePublic.model_validate(line, from_attributes=True)
        for line in wallet.reward_lines(session, customer, epoch)
    ]


@router.get("/accesses")
def read_accesses(
    *,
    customer: CurrentCustomer,
    session: FreshMirrorDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[CustomerAccessPublic]:
    """Which brand accessed which of my data, when, for what purpose and price (customer)."""
    return [
        CustomerAccessPublic.model_validate(a, from_attributes=True)
        for a in wallet.accesses(session, customer.address, limit=limit, offset=offset)
    ]


@router.get("/claim")
def read_claim(
    *, customer: CurrentCustomer, session: SessionDep, settings: SettingsDep, chain: ChainDep
) -> ClaimablePublic:
    """My claimable amount and the proof to claim it with my own key (customer)."""
    return ClaimablePublic.of(wallet.claim_status(session, settings, chain, customer.address))


@router.post("/claim")
def create_claim(
    *, customer: CurrentCustomer, session: SessionDep, settings: SettingsDep, chain: ChainDep
) -> ClaimSent:
    """Claims what I am owed through the relayer, paid to my address (customer)."""
    sent, amount = wallet.relay_claim(session, settings, chain, customer.address)
    return ClaimSent(tx_hash=sent.tx_hash, block_number=sent.block_number, amount=amount)


@router.get("/balance")
def read_balance(*, customer: CurrentCustomer, chain: ChainDep) -> BalancePublic:
    """My CASH balance on chain (customer)."""
    return BalancePublic(address=customer.address, balance=wallet.balance(chain, customer.address))


@router.get("/personal")
def read_personal(*, customer: CurrentCustomer) -> PersonalData:
    """My contact and demographic fields as stored off chain (customer)."""
    return PersonalData.model_validate(customer, from_attributes=True)


@router.patch("/personal")
def update_personal(*, body: PersonalData, customer: CurrentCustomer, session: SessionDep) -> PersonalData:
    """Updates the fields I send (null clears one); brands see them only under my consent (customer)."""
    updated = privacy.update_personal(session, customer, body.model_dump(exclude_unset=True))
    return PersonalData.model_validate(updated, from_attributes=True)


@router.delete("/data")
def erase_my_data(*, customer: CurrentCustomer, session: SessionDep) -> ErasurePublic:
    """Erases my personal data off chain (GDPR art. 17); earned rewards stay payable (customer)."""
    erased = privacy.erase(session, customer)
    return ErasurePublic(
        purchase_items_erased=erased.purchase_items,
        interest_events_erased=erased.interest_events,
        fields_cleared=erased.fields,
        kept=privacy.KEPT_ON_ERASURE,
    )


@router.get("/data")
def read_my_data(
    *, customer: CurrentCustomer, session: FreshMirrorDep, settings: SettingsDep, chain: ChainDep
) -> MyDataPublic:
    """Every field held about me by data category, who may see each now and who saw it when (customer).

    The profile is the one a brand granted every category receives; a category's brands are the live consents
    covering it at the chain's time, its sightings the recorded accesses that included it."""
    return MyDataPublic.of(my_data.my_data(session, settings, chain, customer), privacy.KEPT_ON_ERASURE)


@router.get("/export")
def export_my_data(
    *, customer: CurrentCustomer, session: FreshMirrorDep, settings: SettingsDep, response: Response
) -> ExportPublic:
    """Everything held about me as one JSON document, to download (GDPR art. 20) (customer).

    My rows of every table holding my data: purchases, interest events, consents and their receipts, accesses
    with their transactions, rewards and claims, deliveries, redemptions and campaigns; and my profile."""
    response.headers["Content-Disposition"] = f'attachment; filename="my-data-{customer.address.lower()}.json"'
    return ExportPublic.of(data_export.export(session, settings, customer))

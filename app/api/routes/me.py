"""The signed-in customer's own view: tier and scores with history, interests, rewards, accesses, claims."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import ChainDep, CurrentCustomer, SessionDep, SettingsDep
from app.api.schemas import MAX_OFFSET, DecimalInt, DocumentedRoute, Id, Timestamp, errors
from app.chain.indexer import refresh_mirror
from app.domain import Purpose, category_names
from app.services import privacy, rewards

router = APIRouter(prefix="/me", tags=["me"], route_class=DocumentedRoute, responses=errors(404, 409))

# Token amounts are strings in JSON: they exceed what a JavaScript number holds exactly.


class ScorePublic(BaseModel):
    epoch: int
    as_of: Timestamp
    recency_days: int
    frequency: int
    monetary_total: DecimalInt = Field(description="Won spent in the scoring window")
    r: int
    f: int
    m: int
    segment: str
    tier: str
    cashback_bps: int


class ProfilePublic(BaseModel):
    address: str
    current: ScorePublic | None
    history: list[ScorePublic]


class InterestPublic(BaseModel):
    value: str
    score: float
    signals: int


class InterestsPublic(BaseModel):
    as_of: Timestamp
    categories: list[InterestPublic]
    styles: list[InterestPublic]
    top_styles: list[str]


class RewardEpochPublic(BaseModel):
    epoch: int
    as_of: Timestamp
    purchase_cashback: str
    access_earnings: str
    earned: str
    cumulative: str
    tx_hash: str | None


class RewardLinePublic(BaseModel):
    source: str
    brand: str
    at: Timestamp
    reference: str
    amount_won: DecimalInt | None
    rate_bps: int | None
    reward: str


class AccessPublic(BaseModel):
    brand: str
    purpose: str
    categories: list[str]
    price: str
    block_number: int
    block_time: Timestamp
    tx_hash: str
    request_id: str


class ClaimPublic(BaseModel):
    epoch: int | None
    cumulative: str
    claimed: str
    claimable: str
    proof: list[str]


class ClaimSent(BaseModel):
    tx_hash: str
    block_number: int
    amount: str


class BalancePublic(BaseModel):
    address: str
    balance: str


@router.get("/profile")
def read_profile(*, customer: CurrentCustomer, session: SessionDep) -> ProfilePublic:
    """My RFM scores, segment and tier now and at every epoch (customer)."""
    history = [
        ScorePublic(epoch=e.number, as_of=e.as_of, **s.model_dump(exclude={"epoch", "customer_id", "monetary_avg"}))
        for e, s in rewards.score_history(session, customer)
    ]
    return ProfilePublic(address=customer.address, current=history[-1] if history else None, history=history)


@router.get("/interests")
def read_interests(*, customer: CurrentCustomer, settings: SettingsDep) -> InterestsPublic:
    """My interest profile by category and style, as a brand with full consent would see it (customer)."""
    as_of = rewards.now()
    profile, styles = rewards.interests(settings, customer, as_of=as_of)

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
        RewardEpochPublic(
            epoch=e.number,
            as_of=e.as_of,
            purchase_cashback=str(r.purchase_cashback),
            access_earnings=str(r.access_earnings),
            earned=str(r.earned),
            cumulative=str(r.cumulative),
            tx_hash=e.tx_hash,
        )
        for e, r in rewards.rewards_by_epoch(session, customer.address)
    ]


@router.get("/rewards/{epoch}")
def read_reward_lines(
    *, epoch: Annotated[Id, Path(description="The epoch number")], customer: CurrentCustomer, session: SessionDep
) -> list[RewardLinePublic]:
    """Every purchase and data access behind my reward in one epoch (customer)."""
    return [
        RewardLinePublic(**{**line.__dict__, "reward": str(line.reward)})
        for line in rewards.reward_lines(session, customer, epoch)
    ]


@router.get("/accesses")
def read_accesses(
    *,
    customer: CurrentCustomer,
    session: SessionDep,
    settings: SettingsDep,
    chain: ChainDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[AccessPublic]:
    """Which brand accessed which of my data, when, for what purpose and price (customer)."""
    refresh_mirror(settings, engine=session.get_bind(), gateway=chain)  # type: ignore[arg-type]
    return [
        AccessPublic(
            brand=a.brand,
            purpose=Purpose(a.purpose).name.lower() if a.purpose in Purpose._value2member_map_ else str(a.purpose),
            categories=category_names(a.categories),
            price=str(a.price),
            block_number=a.block_number,
            block_time=a.block_time,
            tx_hash=a.tx_hash,
            request_id=a.request_id,
        )
        for a in rewards.accesses(session, customer.address, limit=limit, offset=offset)
    ]


@router.get("/claim")
def read_claim(
    *, customer: CurrentCustomer, session: SessionDep, settings: SettingsDep, chain: ChainDep
) -> ClaimPublic:
    """My claimable amount and the proof to claim it with my own key (customer)."""
    status = rewards.claim_status(session, settings, chain, customer.address)
    return ClaimPublic(
        epoch=status.epoch,
        cumulative=str(status.cumulative),
        claimed=str(status.claimed),
        claimable=str(status.claimable),
        proof=["0x" + p.hex() for p in status.proof.proof] if status.proof else [],
    )


@router.post("/claim")
def create_claim(
    *, customer: CurrentCustomer, session: SessionDep, settings: SettingsDep, chain: ChainDep
) -> ClaimSent:
    """Claims what I am owed through the relayer, paid to my address (customer)."""
    sent, amount = rewards.relay_claim(session, settings, chain, customer.address)
    return ClaimSent(tx_hash=sent.tx_hash, block_number=sent.block_number, amount=str(amount))


@router.get("/balance")
def read_balance(*, customer: CurrentCustomer, chain: ChainDep) -> BalancePublic:
    """My CASH balance on chain (customer)."""
    return BalancePublic(address=customer.address, balance=str(rewards.balance(chain, customer.address)))


class PersonalData(BaseModel):
    """Contact and demographic fields a customer may keep up to date (shared only under consent)."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, max_length=200)
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, max_length=40, pattern=r"^\+?[0-9 ()-]{4,40}$")
    birth_year: int | None = Field(default=None, ge=1900, le=2100)
    gender: str | None = Field(default=None, max_length=20)
    region: str | None = Field(default=None, max_length=100)


class ErasurePublic(BaseModel):
    purchase_items_erased: int
    interest_events_erased: int
    fields_cleared: list[str]
    kept: str


@router.get("/personal")
def read_personal(*, customer: CurrentCustomer) -> PersonalData:
    """My contact and demographic fields as stored off chain (customer)."""
    return PersonalData(**{f: getattr(customer, f) for f in privacy.PERSONAL_FIELDS})


@router.patch("/personal")
def update_personal(*, body: PersonalData, customer: CurrentCustomer, session: SessionDep) -> PersonalData:
    """Updates the fields I send (null clears one); brands see them only under my consent (customer)."""
    updated = privacy.update_personal(session, customer, body.model_dump(exclude_unset=True))
    return PersonalData(**{f: getattr(updated, f) for f in privacy.PERSONAL_FIELDS})


@router.delete("/data")
def erase_my_data(*, customer: CurrentCustomer, session: SessionDep) -> ErasurePublic:
    """Erases my personal data off chain (GDPR art. 17); earned rewards stay payable (customer)."""
    erased = privacy.erase(session, customer)
    return ErasurePublic(
        purchase_items_erased=erased.purchase_items,
        interest_events_erased=erased.interest_events,
        fields_cleared=erased.fields,
        kept="address, purchase amounts and times (rewards and audit), consent receipts; sessions ended",
    )

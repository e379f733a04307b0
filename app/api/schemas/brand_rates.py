"""A brand's earning rules as the brand console sends and reads them: rows of extra bps, versions, the bounds."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from app.api.schemas import Timestamp
from app.services.brand_rates import EarningRules, RuleRow, RulesVersion

Name = Annotated[StrictStr, Field(min_length=1, max_length=40)]


class RuleRowIn(BaseModel):
    """Extra basis points on top of the tier's rate, for purchases of one category by customers of one tier."""

    model_config = ConfigDict(extra="forbid")

    category: Name = Field(description="One of the programme's categories (bounds.categories)")
    tier: Name = Field(description="One of the programme's tiers (bounds.tiers)")
    extra_bps: StrictInt = Field(description="1 .. bounds.max_extra_bps; tier bps + extra ≤ bounds.max_total_bps")


class EarningRulesCreate(BaseModel):
    """A new version: every row it holds (none clears the brand's extras from the next epoch on)."""

    model_config = ConfigDict(extra="forbid")

    rows: list[RuleRowIn] = Field(max_length=10_000)

    def rule_rows(self) -> list[RuleRow]:
        return [RuleRow(r.category, r.tier, r.extra_bps) for r in self.rows]


class RuleRowPublic(BaseModel):
    category: str
    tier: str
    extra_bps: int


class RulesVersionPublic(BaseModel):
    version: int
    effective_epoch: int = Field(description="The first epoch it applies to")
    created_at: Timestamp
    status: str = Field(description="pending (from the next epoch), in_force, or superseded")
    rows: list[RuleRowPublic]

    @classmethod
    def of(cls, v: RulesVersion) -> RulesVersionPublic:
        return cls.model_validate(v, from_attributes=True)


class TierBps(BaseModel):
    name: str
    cashback_bps: int


class BoundsPublic(BaseModel):
    categories: list[str]
    tiers: list[TierBps] = Field(description="Highest first, with the programme's rate")
    max_extra_bps: int
    max_total_bps: int = Field(description="Ceiling of tier bps + extra bps")
    max_rows: int


class EarningRulesPublic(BaseModel):
    bounds: BoundsPublic
    next_effective_epoch: int = Field(description="The epoch a version made now first applies to")
    current: RulesVersionPublic | None = Field(description="The newest version")
    history: list[RulesVersionPublic] = Field(description="Every version, newest first")

    @classmethod
    def of(cls, rules: EarningRules) -> EarningRulesPublic:
        b = rules.bounds
        return cls(
            bounds=BoundsPublic(
                categories=b.categories,
                tiers=[TierBps(name=n, cashback_bps=bps) for n, bps in b.tiers],
                max_extra_bps=b.max_extra_bps,
                max_total_bps=b.max_total_bps,
                max_rows=b.max_rows,
            ),
            next_effective_epoch=rules.next_effective_epoch,
            current=RulesVersionPublic.of(rules.current) if rules.current else None,
            history=[RulesVersionPublic.of(v) for v in rules.history],
        )

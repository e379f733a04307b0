"""Paid upkeep of one's own profile: each field's reminder and earnings, and the confirmation a customer sends."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from app.api.schemas import Amount, Timestamp
from app.services.upkeep import Upkeep

PersonalField = Literal["name", "email", "phone", "birth_year", "gender", "region"]


class UpkeepConfirm(BaseModel):
    """The fields whose current values I confirm (each must have its reminder due)."""

    model_config = ConfigDict(extra="forbid")

    fields: list[PersonalField] = Field(min_length=1, max_length=6, description="Distinct personal fields")


class FieldUpkeepPublic(BaseModel):
    field: str
    counted: bool = Field(description="The programme pays for keeping this field up to date")
    has_value: bool
    last_updated_at: Timestamp | None
    last_confirmed_at: Timestamp | None
    reminder_due_at: Timestamp | None = Field(description="When a confirmation is asked for; null: nothing to")
    due: bool = Field(description="The reminder is due: the field may be confirmed now")
    confirm_would_earn: Amount = Field(description="What confirming it now would pay at the next epoch")
    pending: Amount = Field(description="What its recorded updates and confirmations await at the next epoch")
    earned: Amount = Field(description="What settled epochs paid for it")


class UpkeepPublic(BaseModel):
    reward: Amount = Field(description="CASH units per paid update or confirmation of a field")
    period_days: int = Field(description="At most one paid event per field in any window of this many days")
    reminder_days: int = Field(description="A field unchanged and unconfirmed this long is due for confirmation")
    fields: list[FieldUpkeepPublic]

    @classmethod
    def of(cls, upkeep: Upkeep) -> UpkeepPublic:
        return cls(
            reward=upkeep.reward_units,
            period_days=upkeep.period_days,
            reminder_days=upkeep.reminder_days,
            fields=[FieldUpkeepPublic.model_validate(f, from_attributes=True) for f in upkeep.fields],
        )


class UpkeepEventPublic(BaseModel):
    field: str
    kind: str
    at: Timestamp
    reminder_due_at: Timestamp | None

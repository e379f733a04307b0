"""Audience privacy: each brand's differential-privacy budget per period and the noisy answers it bought."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, CheckConstraint, Column, DateTime, ForeignKey, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.clock import utcnow


class AudienceBudget(SQLModel, table=True):
    """Epsilon a brand has spent on audience counts in one period, in micro-epsilon (integers add exactly)."""

    __tablename__ = "audience_budgets"
    __table_args__ = (
        UniqueConstraint("brand_id", "period_start", name="uq_audience_budgets_brand_period"),
        CheckConstraint("spent_micro >= 0", name="ck_audience_budgets_spent"),
    )

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(sa_column=Column(ForeignKey("brands.id"), nullable=False))
    period_start: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    spent_micro: int = Field(default=0, sa_type=BigInteger)


class AudienceAnswer(SQLModel, table=True):
    """A noisy audience answer, given again unchanged for the same query in the same period."""

    __tablename__ = "audience_answers"
    __table_args__ = (UniqueConstraint("brand_id", "period_start", "query_key", name="uq_audience_answers_query"),)

    id: int | None = Field(default=None, primary_key=True)
    brand_id: int = Field(sa_column=Column(ForeignKey("brands.id"), nullable=False))
    period_start: datetime = Field(sa_column=Column(DateTime(timezone=True), nullable=False))
    query_key: str = Field(max_length=64, description="sha256 of the canonical query")
    answer: str = Field(sa_column=Column(Text, nullable=False))
    epsilon_micro: int = Field(sa_type=BigInteger)
    created_at: datetime = Field(default_factory=utcnow, sa_column=Column(DateTime(timezone=True), nullable=False))

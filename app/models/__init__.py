"""SQLModel tables, one module per resource; importing this package registers them all."""

from app.models import (  # noqa: F401
    access,
    accounts,
    audience,
    auth,
    auto_claims,
    brand_applications,
    brand_rates,
    consents,
    crm,
    epochs,
    mirror,
    offer_payouts,
    payments,
    purchases,
    signed,
    upkeep,
)

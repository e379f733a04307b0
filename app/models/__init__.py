"""SQLModel tables, one module per resource; importing this package registers them all."""

from app.models import access, accounts, auth, consents, epochs, mirror, purchases, signed  # noqa: F401

"""SQLModel tables, one module per resource; importing this package registers them all."""

from app.models import access, accounts, audience, auth, consents, epochs, mirror, purchases  # noqa: F401

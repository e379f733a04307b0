"""Loyalty and data-consent ledger: backend package (chain gateway, services, API, jobs)."""

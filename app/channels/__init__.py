"""Channels an offer travels by: the wallet inbox (in the database), e-mail over SMTP, the brand's webhook."""

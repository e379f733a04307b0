"""The HTTP API: routes stay thin (validation, auth, one service call)."""

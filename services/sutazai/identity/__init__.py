"""Identity service: API keys, bearer tokens and the audit log (prefix /api/identity)."""

"""Consents (F3, R4, R8): versioned terms per purpose, an append-only ledger, derived state."""

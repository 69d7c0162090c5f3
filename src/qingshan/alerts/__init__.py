"""The alarm centre: alarm rules over the data → episodes kept in the store → cause notes; dispatch goes through
the ledger's ``event`` records (docs/alerts.md)."""

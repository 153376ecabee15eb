"""Executes a Plan through providers and returns the ApplyResult ledger."""

"""Drift: recorded state against live state, and the approximate snapshot of what is live."""

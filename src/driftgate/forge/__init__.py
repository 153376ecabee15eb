"""Forge API clients behind one Protocol (GitHub and GitHub Enterprise first)."""

"""Redaction of secrets and containment of paths."""

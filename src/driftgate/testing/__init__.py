"""Importable test helpers: stack builders, a chaos provider, PostgreSQL bootstrap, provider contract."""

"""Providers: the only code that touches the world. They know nothing of git."""

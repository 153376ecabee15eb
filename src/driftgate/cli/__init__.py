"""The Typer CLI: one module per command; commands parse, call a service, format, return a code."""

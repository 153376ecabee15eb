"""Proposals: edits to json/yaml/toml files with value-drift checks, and PR text."""

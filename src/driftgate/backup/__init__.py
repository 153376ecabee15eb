"""Backups as files: the archive format, independent of the store and of providers."""

"""The state store: SQLAlchemy tables, repositories (which never commit), migrations."""

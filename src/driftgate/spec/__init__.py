"""The spec model, safe YAML loading, the canonical serializer and secret references."""

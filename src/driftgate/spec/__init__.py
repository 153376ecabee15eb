"""The spec model, safe YAML loading, the canonical serializer and secret references."""

STACK_FILE = "stack.yaml"  # here, not in spec.model: reading a stack's name needs no pydantic

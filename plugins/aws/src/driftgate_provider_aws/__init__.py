"""driftgate's AWS provider: a plugin executable (``driftgate-provider-aws``) built on the SDK."""

__version__ = "0.1.0"

"""The drift loop's use cases: scan a stack for drift, reconcile it (heal, ignore, or publish a draft)."""

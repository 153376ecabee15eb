"""The apply gate: lanes and stateful rules, as pure decisions."""

"""Plan data: what the planner decided and apply executes (nothing here does work)."""

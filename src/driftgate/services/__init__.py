"""Use cases shared by the edges (CLI now; API and jobs later). They own transactions."""

"""The demo edge: the quickstart (every loop end to end on a local forge) and the starter
repository `init` writes."""

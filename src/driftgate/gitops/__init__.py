"""Git: the one runner and the small named verbs. It knows nothing of providers."""

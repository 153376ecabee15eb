"""The proposals loop's use cases: config repos, proposals and their approval, the open-PR job,
PR state from webhooks."""

"""The embedded stack behind `changeflow up` and the demo that runs on it."""

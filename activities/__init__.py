"""Every side effect of a change, each an idempotent Temporal activity."""

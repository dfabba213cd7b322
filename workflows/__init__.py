"""Deterministic orchestration: the change workflow and what it needs to run."""

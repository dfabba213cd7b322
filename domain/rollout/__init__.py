"""Rollout planning: the task DAG, its waves and builders per change type, and each plant's
progress."""

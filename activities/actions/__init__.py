"""Rollout actions: one module per action, each a handler with apply, compensate and read_back,
registered by name. Adding an action is one module here plus the connector call it needs."""

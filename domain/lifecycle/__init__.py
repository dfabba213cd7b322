"""A change as its workflow knows it: the state the `state` query returns, what the Web UI
shows of it, the rules for the human input it accepts, and what waits for one approver."""

"""The audit trail in the store: hash-chained records, signed checkpoints, immutability, reading
and the auditor's package."""

"""ChangeWorkflow: one change from assessment through approvals, rollout and verification to
close."""

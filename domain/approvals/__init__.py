"""Approvals: policy (who must approve), decisions, deadlines, the approver's inbox and the rules
for human input."""

"""ChangeWorkflow (workflow.py): one change from assessment through approvals, rollout and
verification to close, composed of small parts that share one context (context.py): the input
rules (input.py), assessment and thread sync (assessment.py), approvals on deadlines
(deadlines.py), holds for a person (hold.py), and a rollout strategy (strategy.py: inline per
plant, or batched from the store)."""

"""The simulator's HTTP routes, one module per resource."""

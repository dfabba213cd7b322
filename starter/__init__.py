"""Entry points for people and scripts: the CLI, the HTTP API, the embedded stack and the demo."""

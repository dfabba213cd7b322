"""Process plumbing shared by worker, API and CLI: settings, logging, tracing, Temporal client."""

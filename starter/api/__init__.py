"""The HTTP API (FastAPI): the app, what routes share, request limits, and the routes, one module
per resource."""

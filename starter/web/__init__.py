"""The approvers' pages and rendered documents (Jinja2, server-side, no front-end build)."""

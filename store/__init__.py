"""Persistence (sqlmodel; SQLite by default, PostgreSQL in production): artifacts, audit, users."""

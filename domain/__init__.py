"""Pure domain of changeflow: pydantic models and the rules over them. No I/O here."""

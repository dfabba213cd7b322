"""A change itself: the change request, its validation, lifecycle stages, state, Web UI details,
unit traceability."""

"""Muster's read side: folds of the event stream into PostgreSQL, live boards and alerts."""

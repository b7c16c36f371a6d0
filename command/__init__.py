"""Muster's write side: schemas, pure decisions, intake over HTTP, and the process edges."""

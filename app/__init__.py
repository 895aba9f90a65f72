"""Composition root: settings, database wiring, the FastAPI application and the command line."""

"""ASGI entry point for uvicorn (``app.asgi:app``); worker processes import it."""

from app.main import create_app

app = create_app()

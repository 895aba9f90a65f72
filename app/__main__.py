"""``python -m app`` is the ``ece`` command."""

from app.cli import main

main()

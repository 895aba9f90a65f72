"""What the ``ece`` command modules share: the database in use, and one unit of work on its own engine."""

from __future__ import annotations

import asyncio

from app.settings import get_settings


def database_url() -> str:
    from app.db import resolve_database_url

    return resolve_database_url(get_settings())


def with_unit_of_work(url: str, work):
    """Run ``work(tx)`` in one transaction on its own engine; answers its result."""
    from app.db import make_async_engine
    from ece.tx import unit_of_work

    async def main():
        engine = make_async_engine(url, pool_size=2)
        try:
            async with unit_of_work(engine) as tx:
                return await work(tx)
        finally:
            await engine.dispose()

    return asyncio.run(main())

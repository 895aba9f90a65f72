"""The sessions app.db opens: the settings every statement of the API and the workers runs under."""

from __future__ import annotations

from sqlalchemy import text


async def test_sessions_run_in_utc_with_custom_plans_and_without_jit(engine):
    async with engine.connect() as conn:
        settings = {name: (await conn.execute(text(f"SHOW {name}"))).scalar_one()
                    for name in ("TimeZone", "plan_cache_mode", "jit")}
    assert settings == {"TimeZone": "UTC", "plan_cache_mode": "force_custom_plan", "jit": "off"}

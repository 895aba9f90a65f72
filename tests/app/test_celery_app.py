"""The Celery application's broker-specific settings."""

from __future__ import annotations

from app.celery_app import REDIS_VISIBILITY_TIMEOUT_SECONDS, redis_visibility_timeout_seconds
from app.settings import Settings


def test_redis_visibility_timeout_outlasts_the_longest_wait_between_delivery_attempts():
    # Default base 10 s: the longest wait is 640 s, so the one-hour constant stands.
    assert redis_visibility_timeout_seconds(Settings(notify_retry_base_seconds=10)) == REDIS_VISIBILITY_TIMEOUT_SECONDS
    # Base 60 s: the longest wait is 3,840 s, longer than the constant; twice it, or Redis would hand the waiting
    # retry to a second worker.
    assert redis_visibility_timeout_seconds(Settings(notify_retry_base_seconds=60)) == 7680

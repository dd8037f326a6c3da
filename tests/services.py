"""Services that some tests need, and whether they answer."""
import os

#: Tests use only this Redis database (broker queues and cache entries).
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/1")


def redis_unreachable():
    """Why ``REDIS_URL`` cannot be used, or None when it can."""
    try:
        import redis

        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except Exception as exc:  # any failure to connect means "not reachable"
        return f"Redis not reachable at {REDIS_URL}: {exc}"
    return None

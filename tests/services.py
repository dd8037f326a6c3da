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


#: RabbitMQ for the tests that need a broker redelivering a killed worker's messages at once.
RABBITMQ_URL = os.environ.get("TEST_RABBITMQ_URL", "amqp://guest:guest@127.0.0.1:5672//")


def rabbitmq_unreachable():
    """Why ``RABBITMQ_URL`` cannot be used, or None when it can."""
    try:
        from kombu import Connection

        with Connection(RABBITMQ_URL, connect_timeout=2) as conn:
            conn.ensure_connection(max_retries=1)
    except Exception as exc:  # any failure to connect means "not reachable"
        return f"RabbitMQ not reachable at {RABBITMQ_URL}: {exc}"
    return None

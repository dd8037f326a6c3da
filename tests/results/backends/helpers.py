"""Helpers of the result backends' tests: a worker's task request, a database session ended under a test."""
import pytest
from celery.app.task import Context
from django.db import connection, connections


def make_request(task_id, **fields):
    """A task request as a worker would build it."""
    defaults = {
        "id": task_id,
        "task": "app.tasks.add",
        "args": [1, 2],
        "kwargs": {"z": 3},
        "hostname": "celery@worker1",
        "delivery_info": {"routing_key": "celery"},
    }
    return Context({**defaults, **fields})


def end_database_session(vendor):
    """End the test's own database session from another connection, as a server restart would.

    Skips the test when the database under test is not ``vendor``.
    """
    if connection.vendor != vendor:
        pytest.skip(f"needs {vendor}; this run's database is {connection.vendor}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()" if vendor == "postgresql" else "SELECT CONNECTION_ID()")
        (session_id,) = cursor.fetchone()
    killer = connections.create_connection("default")
    try:
        with killer.cursor() as cursor:
            if vendor == "postgresql":
                cursor.execute("SELECT pg_terminate_backend(%s)", [session_id])
            else:
                cursor.execute(f"KILL {int(session_id)}")
    finally:
        killer.close()

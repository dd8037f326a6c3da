"""Fixtures for the result backends' unit tests: a Celery app of the test's own."""
import pytest
from celery.app.task import Context
from django.db import connection, connections

from tests.fixtures.celery_apps import DATABASE_BACKEND


@pytest.fixture
def make_app(celery_app_factory):
    """Build Celery apps (the DatabaseBackend, json and pickle accepted) with the given configuration on top."""

    def make(**conf):
        return celery_app_factory(
            "unit",
            **{
                "result_backend": DATABASE_BACKEND,
                "result_extended": True,
                "accept_content": ["json", "pickle"],
                "result_accept_content": ["json", "pickle"],
                **conf,
            },
        )

    return make


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def backend(app):
    return app.backend


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

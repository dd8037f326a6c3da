"""Fixtures for the results app's admin and view tests."""
import pytest

from tests.fixtures.celery_apps import DATABASE_BACKEND


@pytest.fixture
def current_celery_app(celery_app_factory):
    """Make a Celery app of the test's own the current app, as the views read it.

    Call it with the app's configuration; the previous current app is
    restored afterwards.
    """

    def make(**conf):
        return celery_app_factory(
            "results-tests", current=True, **{"result_backend": DATABASE_BACKEND, "result_extended": True, **conf}
        )

    return make

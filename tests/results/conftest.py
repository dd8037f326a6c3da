"""Fixtures for the results app's admin and view tests."""
import pytest
from celery import Celery
from celery._state import get_current_app


@pytest.fixture
def current_celery_app():
    """Make a Celery app of the test's own the current app, as the views read it.

    Call it with the app's configuration; the previous current app is
    restored afterwards.
    """
    previous = get_current_app()
    apps = []

    def make(**conf):
        app = Celery("results-tests", set_as_current=False)
        app.conf.update(
            {"result_backend": "results.backends:DatabaseBackend", "result_extended": True, **conf}
        )
        app.set_current()
        apps.append(app)
        return app

    yield make
    previous.set_current()
    for app in apps:
        app.close()

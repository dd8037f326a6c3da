"""The end-to-end tests' app: the real worker's (``tests.fixtures.workers`` starts it), current for the test."""
import pytest

from tests.e2e import celery_app
from tests.fixtures.celery_apps import current


@pytest.fixture
def app(db_worker):
    with current(celery_app.app):
        yield celery_app.app

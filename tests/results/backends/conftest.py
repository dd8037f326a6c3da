"""Fixtures for the result backends' unit tests: a Celery app of the test's own."""
import pytest

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

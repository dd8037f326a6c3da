"""Test set-up shared by the whole suite.

The database under test is the one ``DATABASE_URL`` names (SQLite by
default); ``tests/run_matrix.py`` runs the suite once per reachable
database. Tests that only make sense on one vendor carry a marker and
skip elsewhere with the reason.
"""
import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings

VENDOR_MARKERS = {"postgresql": "PostgreSQL", "mysql": "MySQL/MariaDB"}


def pytest_runtest_setup(item):
    for vendor, label in VENDOR_MARKERS.items():
        if item.get_closest_marker(vendor) and connection.vendor != vendor:
            pytest.skip(f"needs {label}; this run's database is {connection.vendor} (see DATABASE_URL)")


@pytest.fixture(scope="session", autouse=True)
def plain_static_storage():
    """Serve static files from the finders, without collectstatic's manifest.

    No ``STATIC_ROOT`` either, so WhiteNoise does not look for (and warn
    about) a collected folder that tests never build.
    """
    with override_settings(
        STATIC_ROOT=None,
        WHITENOISE_USE_FINDERS=True,
        STORAGES={
            "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
            "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        }
    ):
        yield


@pytest.fixture(autouse=True)
def fresh_dashboard_settings(settings):
    """No cached filter choices between tests, and the local-memory cache emptied.

    Each test then sees exactly the workers and task names it stored.
    """
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 0}
    cache.clear()
    yield
    cache.clear()

"""Test set-up shared by the whole suite.

The database under test is the one ``DATABASE_URL`` names (SQLite by
default); ``tests/run_matrix.py`` runs the suite once per reachable
database. Tests that only make sense on one vendor carry a marker and
skip elsewhere with the reason.
"""
import copy
import os
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.test import override_settings

from tests.support import OTHER_DB, clear_local_cache

#: Fixtures shared by several folders, registered here once for the whole
#: suite (pytest accepts ``pytest_plugins`` only in this top-level conftest):
#: Celery apps of a test's own, and the real workers of the end-to-end and
#: browser tests. A folder's own conftest keeps only what that folder uses.
pytest_plugins = ["tests.fixtures.celery_apps", "tests.fixtures.workers"]

VENDOR_MARKERS = {"postgresql": "PostgreSQL", "mysql": "MySQL/MariaDB"}



def pytest_configure(config):
    default = settings.DATABASES["default"]
    other = copy.deepcopy(default)
    test = other.setdefault("TEST", {})
    if default["ENGINE"].endswith("sqlite3"):
        base = Path(test.get("NAME") or default["NAME"])
        test["NAME"] = str(base.with_name(f"{base.stem}-{OTHER_DB}{base.suffix}"))
    else:
        test["NAME"] = f"{test.get('NAME') or 'test_' + default['NAME']}_{OTHER_DB}"
    settings.DATABASES.setdefault(OTHER_DB, other)


def pytest_runtest_setup(item):
    for vendor, label in VENDOR_MARKERS.items():
        if item.get_closest_marker(vendor) and connection.vendor != vendor:
            pytest.skip(f"needs {label}; this run's database is {connection.vendor} (see DATABASE_URL)")
    first_pass = os.environ.get("TEST_MATRIX_FIRST_PASS")
    if item.get_closest_marker("once") and first_pass and os.environ.get("TEST_MATRIX_PASS") != first_pass:
        pytest.skip(f"does not depend on the database: run once, in the {first_pass} pass")


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
    clear_local_cache()
    yield
    clear_local_cache()

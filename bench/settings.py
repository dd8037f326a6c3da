"""Settings for the benchmarks only: the project's, plus the reference app.

``django_celery_results`` (the reference this project replaces) is
installed in the benchmark's virtualenv only (``make bench``), never in the
project's, so that both backends can write side by side in the same run.
"""
import os

from dashboard_project.settings import *  # noqa: F401,F403
from dashboard_project.settings import DATABASES, INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "django_celery_results"]

# A database of the benchmark's own, created and dropped by the benchmark.
DATABASES["default"]["TEST"] = {
    **DATABASES["default"].get("TEST", {}),
    "NAME": os.environ.get("BENCH_DATABASE_NAME"),
}

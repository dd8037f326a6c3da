"""The demo's tests run on the demo's settings, as ``make run`` does.

The suite runs on the production settings (``pytest.ini``), which leave
the demo out. Here, for every test of this folder, each setting that
``dashboard_project.settings_demo`` adds to them or changes (the demo app,
the beat schedule) is applied on top, so that ``call_command("demo")``
finds the demo's commands. Processes the tests start (``rundemo``) are
given the demo's settings module itself.
"""
import pytest
from django.test import override_settings

from dashboard_project import settings as production_settings
from dashboard_project import settings_demo

_MISSING = object()


def demo_only_settings():
    """The settings the demo's module adds to, or changes in, the production ones."""
    return {
        name: value
        for name, value in vars(settings_demo).items()
        if name.isupper() and getattr(production_settings, name, _MISSING) != value
    }


@pytest.fixture(scope="package", autouse=True)
def demo_settings():
    with override_settings(**demo_only_settings()):
        yield

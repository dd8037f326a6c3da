"""The production settings leave the demo out; the demo's settings are them plus the demo.

Each settings module is loaded in a fresh interpreter, as ``manage.py``, a
WSGI server or ``celery -A dashboard_project worker`` would load it, with
the project's Celery app and its autodiscovered tasks.
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.once  # settings and files of the project, whatever the database

BASE_DIR = Path(__file__).resolve().parents[2]
PRODUCTION = "dashboard_project.settings"
DEMO = "dashboard_project.settings_demo"
DEMO_TASK = "shop.tasks.send_invoice"
LOADED = """
import json
import django
django.setup()
from django.conf import settings
from django.core.management import get_commands
from dashboard_project.celery import app
app.loader.import_default_modules()  # what a worker does first: autodiscover the apps' tasks
print(json.dumps({
    "apps": settings.INSTALLED_APPS,
    "commands": sorted(name for name in get_commands() if name in ("demo", "rundemo")),
    "beat_schedule": sorted(app.conf.beat_schedule),
    "tasks": sorted(app.tasks),
}))
"""
DIFFERENCES = """
import json
from dashboard_project import settings, settings_demo
missing = object()
print(json.dumps(sorted(
    name for name, value in vars(settings_demo).items()
    if name.isupper() and getattr(settings, name, missing) != value
)))
"""


def run(tmp_path, code, settings_module):
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "VAR_DIR": str(tmp_path), "SECRET_KEY": "test-key"}
    process = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True)
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout)


def test_production_settings_and_worker_have_no_demo(tmp_path):
    loaded = run(tmp_path, LOADED, PRODUCTION)
    assert "demo" not in loaded["apps"]
    assert loaded["commands"] == []
    assert loaded["beat_schedule"] == []
    assert DEMO_TASK not in loaded["tasks"]


def test_demo_settings_add_the_demo_app_and_its_beat_schedule(tmp_path):
    production, demo = run(tmp_path, LOADED, PRODUCTION), run(tmp_path, LOADED, DEMO)
    assert demo["apps"] == production["apps"] + ["demo"]
    assert demo["commands"] == ["demo", "rundemo"]
    assert demo["beat_schedule"] == ["cleanup-sessions", "rollup-statistics", "sweep-chords", "sync-inventory"]
    assert DEMO_TASK in demo["tasks"]
    assert run(tmp_path, DIFFERENCES, PRODUCTION) == ["CELERY_BEAT_SCHEDULE", "INSTALLED_APPS"]


def test_make_run_uses_the_demo_settings():
    makefile = (BASE_DIR / "Makefile").read_text()
    assert re.search(rf"^run: export DJANGO_SETTINGS_MODULE = {re.escape(DEMO)}$", makefile, re.MULTILINE)

"""HTTPS settings come from the environment: all off for a local run, each turned on by its variable.

The settings module is imported in a fresh interpreter with the variables
set, as ``manage.py`` or a WSGI server would import it.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.once  # settings and files of the project, whatever the database

BASE_DIR = Path(__file__).resolve().parents[2]
HTTPS_SETTINGS = {
    "SECURE_SSL_REDIRECT": False,
    "SESSION_COOKIE_SECURE": False,
    "CSRF_COOKIE_SECURE": False,
    "SECURE_HSTS_SECONDS": 0,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
    "SECURE_HSTS_PRELOAD": False,
    "SECURE_PROXY_SSL_HEADER": None,
}


def run_settings(tmp_path, **variables):
    """The settings module's HTTPS settings, imported with only ``variables`` of theirs in the environment."""
    env = {key: value for key, value in os.environ.items() if key not in HTTPS_SETTINGS}
    env.update(VAR_DIR=str(tmp_path), SECRET_KEY="test-key", **variables)
    code = (
        "import json; from dashboard_project import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {sorted(HTTPS_SETTINGS)!r}}}))"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, env=env, capture_output=True, text=True)


def imported(tmp_path, **variables):
    process = run_settings(tmp_path, **variables)
    assert process.returncode == 0, process.stderr
    return json.loads(process.stdout)


def test_all_off_by_default(tmp_path):
    assert imported(tmp_path) == HTTPS_SETTINGS


def test_each_is_turned_on_by_its_variable(tmp_path):
    assert imported(
        tmp_path,
        SECURE_SSL_REDIRECT="1",
        SESSION_COOKIE_SECURE="true",
        CSRF_COOKIE_SECURE="yes",
        SECURE_HSTS_SECONDS="31536000",
        SECURE_HSTS_INCLUDE_SUBDOMAINS="on",
        SECURE_HSTS_PRELOAD="True",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
    ) == {
        "SECURE_SSL_REDIRECT": True,
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": ["HTTP_X_FORWARDED_PROTO", "https"],
    }


def test_the_proxy_header_may_be_named_as_sent(tmp_path):
    header = imported(tmp_path, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto, https")["SECURE_PROXY_SSL_HEADER"]
    assert header == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_off_words_and_empty_values_leave_them_off(tmp_path):
    assert imported(
        tmp_path, SECURE_SSL_REDIRECT="0", SESSION_COOKIE_SECURE="false", CSRF_COOKIE_SECURE="",
        SECURE_HSTS_SECONDS=" ", SECURE_PROXY_SSL_HEADER="",
    ) == HTTPS_SETTINGS


@pytest.mark.parametrize(
    "name,value",
    [
        ("SESSION_COOKIE_SECURE", "ture"),
        ("SECURE_HSTS_SECONDS", "a year"),
        ("SECURE_HSTS_SECONDS", "-1"),
        ("SECURE_PROXY_SSL_HEADER", "HTTP_X_FORWARDED_PROTO"),
        ("SECURE_PROXY_SSL_HEADER", "a,b,c"),
    ],
)
def test_a_value_that_means_nothing_stops_the_start_with_its_name(tmp_path, name, value):
    process = run_settings(tmp_path, **{name: value})
    assert process.returncode != 0
    assert "ImproperlyConfigured" in process.stderr and name in process.stderr


def test_processes_starting_at_once_all_read_the_one_generated_secret_key(tmp_path, monkeypatch):
    """A test matrix starts three processes on one var/ folder: none may read a key file still being written."""
    from concurrent.futures import ProcessPoolExecutor

    from dashboard_project.env import secret_key

    monkeypatch.delenv("SECRET_KEY", raising=False)
    with ProcessPoolExecutor(6) as pool:
        keys = list(pool.map(secret_key, [tmp_path] * 24))
    assert len(set(keys)) == 1 and len(keys[0]) >= 50
    assert [path.name for path in tmp_path.iterdir()] == ["secret_key"]  # nothing left aside
    (tmp_path / "secret_key").write_text("")  # an interrupted write of an older version
    replaced = secret_key(tmp_path)
    assert replaced and replaced == (tmp_path / "secret_key").read_text()

"""The documented production set-up (README, "Production"), run for real.

``check --deploy`` finds nothing with the documented environment (and does
find the insecure defaults without it); ``gunicorn`` serves the project
after ``migrate`` and ``collectstatic``: ``/healthz`` over plain HTTP as a
load balancer probes it, the pages over HTTPS as the proxy reports it, with
HSTS, and the collected static files with hashed names cached for a year.
"""
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.once]

ROOT = Path(__file__).resolve().parents[2]
STARTUP_TIMEOUT = 30


def production_env(var_dir, **extra):
    """The environment the README's production section sets, the database a throw-away SQLite file."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "CELERY_", "SECURE_", "DATABASE_"))}
    return {
        **clean,
        "DJANGO_SETTINGS_MODULE": "dashboard_project.settings",
        "VAR_DIR": str(var_dir),
        "DATABASE_URL": f"sqlite:///{var_dir}/db.sqlite3",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,results.example.com",
        "CSRF_TRUSTED_ORIGINS": "https://results.example.com",
        "SECURE_SSL_REDIRECT": "1",
        "SESSION_COOKIE_SECURE": "1",
        "CSRF_COOKIE_SECURE": "1",
        "SECURE_HSTS_SECONDS": "31536000",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": "1",
        "SECURE_HSTS_PRELOAD": "1",
        "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto,https",
        **extra,
    }


def manage(env, *args):
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True)


def test_check_deploy_finds_nothing_with_the_documented_environment(tmp_path):
    done = manage(production_env(tmp_path), "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues" in done.stdout + done.stderr


def test_check_deploy_does_find_the_local_defaults(tmp_path):
    env = {**production_env(tmp_path), "SECURE_SSL_REDIRECT": "0", "SECURE_HSTS_SECONDS": "0"}
    done = manage(env, "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode != 0 and "security.W004" in done.stderr and "security.W008" in done.stderr


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def get(url, https=False):
    """``(status, headers, body)``; ``https``: as the proxy that ended TLS tells it."""
    request = urllib.request.Request(url, headers={"Host": "results.example.com"} if https else {})
    if https:
        request.add_header("X-Forwarded-Proto", "https")
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


@pytest.fixture
def gunicorn(tmp_path):
    env = production_env(tmp_path, CELERY_BROKER_URL="memory://")
    for args in (("migrate", "--noinput"), ("collectstatic", "--noinput")):
        done = manage(env, *args)
        assert done.returncode == 0, done.stdout + done.stderr
    port = free_port()
    log = tmp_path / "gunicorn.log"
    with open(log, "wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "dashboard_project.wsgi", "--bind", f"127.0.0.1:{port}",
             "--workers", "2", "--access-logfile", "-"],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while True:
            try:
                get(base + "/healthz")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start:\n{log.read_text()}")
                time.sleep(0.2)
        yield base, tmp_path
    finally:
        server.terminate()
        server.wait(timeout=15)


def test_gunicorn_serves_health_pages_and_static_files_as_documented(gunicorn):
    base, var_dir = gunicorn
    status, headers, body = get(base + "/healthz")  # plain HTTP, as a load balancer probes
    assert status == 200, body
    assert json.loads(body)["status"] == "ok" and "no-store" in headers["Cache-Control"]

    status, headers, _body = get(base + "/accounts/login/")  # any other page over plain HTTP: to HTTPS
    assert status == 301 and headers["Location"].startswith("https://")

    status, headers, body = get(base + "/accounts/login/", https=True)
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"
    stylesheets = re.findall(rb'href="(/static/[^"]+\.css)"', body)
    assert stylesheets and all(re.search(rb"\.[0-9a-f]{12}\.css$", name) for name in stylesheets), stylesheets
    status, headers, _css = get(base + stylesheets[0].decode(), https=True)
    assert status == 200 and "immutable" in headers["Cache-Control"] and "max-age=315360000" in headers["Cache-Control"]
    assert (Path(var_dir) / "staticfiles" / "staticfiles.json").is_file()

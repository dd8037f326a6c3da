"""A fresh clone's own entry point: ``manage.py migrate && manage.py runserver``.

What the README's readers run first, without ``make`` and without
``collectstatic`` (issue 10). The committed repository is cloned into a
temporary folder, with its own ``var/`` there, and served by a real
``runserver``: the login page, the task list behind it and the stylesheet
and scripts they reference must load with DEBUG off (the default) and on,
before and after ``collectstatic``. Only collected files, and only with
DEBUG off, have hashed (cache-busting) names.
"""
import http.cookiejar
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

pytestmark = pytest.mark.slow

STARTUP_TIMEOUT = 30
USERNAME = "operator"
# Variables the settings read: the clone starts from its defaults, whatever this run uses.
PROJECT_VARIABLES = (
    "DATABASE_URL", "CELERY_", "CACHE_URL", "SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS",
    "ALLOW_EDITS", "VAR_DIR", "DJANGO_", "LOG_LEVEL", "TIME_ZONE",
)
# A user who may see the dashboard without being a superuser, as the README describes.
CREATE_USER = """
import os
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
user = get_user_model().objects.create_user(os.environ["FRESH_USER"], password=os.environ["FRESH_PASSWORD"])
user.user_permissions.add(Permission.objects.get(content_type__app_label="results", codename="view_taskresult"))
"""
HASHED = r"\.[0-9a-f]{12}"


@dataclass
class Clone:
    """The cloned checkout, the environment its commands run in, and its user's password."""

    path: Path
    env: dict
    password: str

    def manage(self, *args, **env):
        done = subprocess.run(
            [sys.executable, "manage.py", *args], cwd=self.path, env={**self.env, **env}, capture_output=True, text=True
        )
        if done.returncode:
            pytest.fail(f"manage.py {args[0]} failed ({done.returncode}):\n{done.stdout}{done.stderr}")

    @property
    def manifest(self):
        return Path(self.env["VAR_DIR"]) / "staticfiles" / "staticfiles.json"


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    """The committed repository, cloned, migrated, with a user: once for every case.

    The clone's database is SQLite under its own ``VAR_DIR`` whatever the
    database under test, so it needs to run only once per suite run.
    """
    if connection.vendor != "sqlite":
        pytest.skip(
            "runs once, in the SQLite pass: the clone uses its own SQLite file whatever the database under test"
        )
    if shutil.which("git") is None or not (Path(settings.BASE_DIR) / ".git").exists():
        pytest.skip("needs git and a git checkout to clone")
    root = tmp_path_factory.mktemp("fresh-clone")
    subprocess.run(["git", "clone", "--quiet", str(settings.BASE_DIR), str(root / "repo")], check=True)
    env = {name: value for name, value in os.environ.items() if not name.startswith(PROJECT_VARIABLES)}
    env.update(VAR_DIR=str(root / "var"), PYTHONUNBUFFERED="1")
    fresh = Clone(root / "repo", env, secrets.token_urlsafe(16))
    fresh.manage("migrate", "-v0")
    fresh.manage("shell", "-c", CREATE_USER, FRESH_USER=USERNAME, FRESH_PASSWORD=fresh.password)
    return fresh


def set_collected(clone, collected):
    """``collectstatic`` run or not: the cases share the clone, whatever order they run in."""
    if collected and not clone.manifest.exists():
        clone.manage("collectstatic", "--noinput", "-v0")
    elif not collected:
        shutil.rmtree(clone.manifest.parent, ignore_errors=True)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def server(clone, collected, debug, tmp_path):
    """A real ``manage.py runserver`` in the clone, stopped whatever the test's outcome.

    Yields its base URL and the file its output goes to.
    """
    set_collected(clone, collected)
    port, log = free_port(), tmp_path / "runserver.log"
    env = {**clone.env, "DEBUG": "1"} if debug else clone.env  # unset: off, as on a fresh clone
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"],
            cwd=clone.path, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_listening(process, port, log)
        yield base, log
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_listening(process, port, log):
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"runserver exited ({process.returncode}):\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    pytest.fail(f"runserver did not listen within {STARTUP_TIMEOUT} s:\n{log.read_text()}")


class Page(HTMLParser):
    """What a page links to: its stylesheets and scripts, and its form's CSRF token."""

    def __init__(self, html):
        super().__init__()
        self.stylesheets, self.scripts, self.csrf_token = [], [], None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "link" and attrs.get("rel") == "stylesheet":
            self.stylesheets.append(attrs["href"])
        elif tag == "script" and attrs.get("src"):
            self.scripts.append(attrs["src"])
        elif tag == "input" and attrs.get("name") == "csrfmiddlewaretoken":
            self.csrf_token = attrs["value"]


class Browser:
    """Cookies kept between requests, redirects followed, errors answered rather than raised."""

    def __init__(self, base, log):
        self.base, self.log = base, log
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def open(self, path, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, body, timeout=20) as response:
                return response.status, response.headers, response.read(), urllib.parse.urlsplit(response.url).path
        except urllib.error.HTTPError as error:
            return error.code, error.headers, error.read(), path

    def page(self, path, data=None):
        status, _, body, final_path = self.open(path, data)
        assert status == 200, f"{path} answered {status}; runserver said:\n{self.log.read_text()[-5000:]}"
        return final_path, Page(body.decode())


def expected_name(name, hashed):
    """``dashboard/dashboard.css`` as a URL: ``/static/dashboard/dashboard.css``, or with its hash inserted."""
    stem, extension = os.path.splitext(name)
    return re.escape(f"/static/{stem}") + (HASHED if hashed else "") + re.escape(extension)


def assert_static_files_load(browser, page, clone, hashed):
    """The page's own stylesheet and dashboard script are named as they should be, and every
    stylesheet and script it references loads with its type; plain names are never cached for good."""
    for name, urls in (("dashboard/dashboard.css", page.stylesheets), ("dashboard/dashboard.js", page.scripts)):
        assert any(re.fullmatch(expected_name(name, hashed), url) for url in urls), (name, urls)
    for url, media_type in [(url, "text/css") for url in page.stylesheets] + [
        (url, "text/javascript") for url in page.scripts
    ]:
        status, headers, body, _ = browser.open(url)
        assert status == 200, f"{url} answered {status}; runserver said:\n{browser.log.read_text()[-5000:]}"
        assert headers.get_content_type() == media_type, (url, headers["Content-Type"])
        assert body, url
        assert ("immutable" in headers.get("Cache-Control", "")) == hashed, (url, headers["Cache-Control"])
        if url == "/static/dashboard/dashboard.css":
            assert body == (clone.path / "dashboard" / "static" / "dashboard" / "dashboard.css").read_bytes()


@pytest.mark.parametrize(
    "collected, debug",
    [(False, False), (False, True), (True, False), (True, True)],
    ids=["uncollected-debug-off", "uncollected-debug-on", "collected-debug-off", "collected-debug-on"],
)
def test_runserver_serves_login_dashboard_and_their_static_files(clone, server, collected, debug):
    base, log = server
    hashed = collected and not debug  # Django names files plainly under DEBUG, collected or not
    browser = Browser(base, log)

    tasks_path, login_path = reverse("dashboard:tasks"), reverse("login")
    _, login = browser.page(f"{login_path}?next={tasks_path}")
    assert login.csrf_token
    assert_static_files_load(browser, login, clone, hashed)

    landed, tasks = browser.page(
        login_path,
        {"username": USERNAME, "password": clone.password, "csrfmiddlewaretoken": login.csrf_token,
         "next": tasks_path},
    )
    assert landed == tasks_path
    assert "sessionid" in {cookie.name for cookie in browser.cookies}
    assert_static_files_load(browser, tasks, clone, hashed)

    output = log.read_text()
    assert "Traceback" not in output and "Warning" not in output, output

"""The distribution, installed into a fresh virtualenv and mounted in a throw-away host project.

The wheel is built from a copy of the apps (the checkout stays clean), installed into a new virtualenv that
sees only the dependencies (this suite's site-packages, through a ``.pth`` file) and not the checkout, and
used by a host project written here: its own settings, user model and ``base.html``, its own log-in page at
``/sign-in/``, the dashboard under ``/ops/celery/``, the JSON views under ``/ops/results/``, static files
under ``/assets/``. Logged in
through the host's form as a user holding the view and delete permissions, every dashboard page answers
200, every link stays under the host's own paths, every static file it references is found, and an action
(delete) works with ALLOW_EDITS on.
"""
import json
import shutil
import site
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.once]

ROOT = Path(__file__).resolve().parents[2]

HOST_SETTINGS = """
SECRET_KEY = "host-project-test-key-not-secret-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
INSTALLED_APPS = [
    "django.contrib.auth", "django.contrib.contenttypes", "django.contrib.sessions", "django.contrib.messages",
    "django.contrib.staticfiles", "django.contrib.humanize",
    "django_filters", "django_tables2", "django_htmx", "results", "dashboard", "accounts",
]
AUTH_USER_MODEL = "accounts.Operator"
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]
ROOT_URLCONF = "host.urls"
TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": ["templates"],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": "host.sqlite3"}}
USE_TZ = True
STATIC_URL = "/assets/"
LOGIN_URL = "/sign-in/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
DJANGO_CELERY_RESULTS = {"ALLOW_EDITS": True}
DASHBOARD = {"LOGOUT_URL": "sign-out"}
CELERY_RESULT_BACKEND = "results.backends:DatabaseBackend"
CELERY_BROKER_URL = "memory://"
"""

HOST_URLS = """
from django.contrib.auth import views
from django.urls import include, path

urlpatterns = [
    path("sign-in/", views.LoginView.as_view(template_name="sign_in.html"), name="sign-in"),
    path("sign-out/", views.LogoutView.as_view(), name="sign-out"),
    path("ops/celery/", include("dashboard.urls")),
    path("ops/results/", include("results.urls")),
]
"""

HOST_CELERY = """
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "host.settings")
app = Celery("host")
app.config_from_object("django.conf:settings", namespace="CELERY")
"""

HOST_USER_MODEL = """
from django.contrib.auth.models import AbstractUser
from django.db import models


class Operator(AbstractUser):
    team = models.CharField(max_length=40, blank=True)
"""

#: A template the host names as projects usually do: the dashboard must never pick it up.
HOST_BASE = "<!DOCTYPE html><title>HOST LAYOUT</title>{% block content %}{% endblock %}"

HOST_LOGIN_PAGE = """<!DOCTYPE html><title>Host sign-in</title>
<form method="post">{% csrf_token %}{{ form.as_p }}<input type="hidden" name="next" value="{{ next }}">
<button>Sign in</button></form>
"""

CHECK = r'''
import json, os, re, sys
from datetime import timedelta
from urllib.parse import urlsplit
import django
os.environ["DJANGO_SETTINGS_MODULE"] = "host.settings"
django.setup()
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.staticfiles import finders
from django.test import Client
from django.urls import reverse
from django.utils import timezone
import dashboard, results
from results.models import GroupResult, TaskResult

user = get_user_model().objects.create_user("ops", password="host-pw-4711", team="payments")
user.user_permissions.add(*Permission.objects.filter(content_type__app_label="results",
                                                      codename__in=["view_taskresult", "delete_taskresult"]))
now = timezone.now()
tb = ('Traceback (most recent call last):\n  File "/srv/host/shop/billing.py", line 3, in charge\n'
      "    raise KeyError(sku)\nKeyError: 'sku-1'\n")
for i in range(6):
    TaskResult.objects.create(task_id=f"t-{i}", task_name="shop.charge", status="FAILURE" if i % 2 else "SUCCESS",
                              worker="celery@host", traceback=tb if i % 2 else None, task_args="[1]",
                              task_kwargs="{}", date_created=now, date_started=now)
TaskResult.objects.update(date_done=now - timedelta(minutes=5))
GroupResult.objects.create(group_id="g-1", result='["t-1", "t-2"]')

client = Client()
first = client.get("/ops/celery/tasks/")
login = client.post("/sign-in/", {"username": "ops", "password": "host-pw-4711", "next": "/ops/celery/tasks/"})

from dashboard.models import FailureGroup
client.get("/ops/celery/")  # the page's own catch-up counts the rows (and fingerprints the failures)
digest = FailureGroup.objects.values_list("digest", flat=True).first()
pages = [reverse(name, args=args) for name, args in [
    ("dashboard:overview", []), ("dashboard:tasks", []), ("dashboard:task", ["t-1"]),
    ("dashboard:failures", []), ("dashboard:failure", [digest]), ("dashboard:task-names", []),
    ("dashboard:task-name", ["shop.charge"]), ("dashboard:workers", []), ("dashboard:periodic", []),
    ("dashboard:groups", []), ("dashboard:group", ["g-1"]), ("dashboard:chords", []), ("dashboard:audit", []),
    ("dashboard:action", ["delete"]),
]]
pages[-1] += "?task_id=t-0"
statuses, outside, missing_static, checked, static, host_layout = {}, set(), set(), 0, set(), []
LINK = re.compile(r'(?:href|src|action|hx-get|hx-post)="([^"]+)"')
for path in pages:
    response = client.get(path)
    statuses[path] = response.status_code
    if "HOST LAYOUT" in response.content.decode():
        host_layout.append(path)
    for link in LINK.findall(response.content.decode()):
        link = link.replace("&amp;", "&")
        parts = urlsplit(link)
        if parts.scheme or parts.netloc or not parts.path.startswith("/"):
            continue  # "?page=2", "#id", data: URIs
        checked += 1
        if parts.path.startswith("/assets/"):
            static.add(parts.path)
            if not finders.find(parts.path.removeprefix("/assets/")):
                missing_static.add(parts.path)
        elif not parts.path.startswith(("/ops/", "/sign-in/", "/sign-out/")):
            outside.add(parts.path)
confirm = client.get(pages[-1])
token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', confirm.content.decode()).group(1)
deleted = client.post(reverse("dashboard:action", args=["delete"]),
                      {"task_ids": json.dumps(["t-0"]), "csrfmiddlewaretoken": token})
print(json.dumps({
    "first": [first.status_code, first.get("Location", "")],
    "login": [login.status_code, login.get("Location", "")],
    "statuses": statuses, "outside": sorted(outside), "missing_static": sorted(missing_static),
    "links_checked": checked, "static": sorted(static), "host_layout": host_layout,
    "audited_user": __import__("dashboard.models", fromlist=["AuditEntry"]).AuditEntry.objects.get().user.team,
    "deleted": [deleted.status_code, TaskResult.objects.filter(task_id="t-0").exists()],
    "json_view": client.get("/ops/results/task/done/t-1/").status_code,
    "installed_from": [os.path.dirname(dashboard.__file__), os.path.dirname(results.__file__)],
}))
'''


def run(command, cwd, env=None):
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{command} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """The built wheel installed into a fresh virtualenv, and a host project beside it, migrated."""
    base = tmp_path_factory.mktemp("package")
    source = base / "source"
    source.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("results", "dashboard"):
        shutil.copytree(ROOT / name, source / name, ignore=ignore)
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(base / "dist"),
         str(source)], cwd=base)
    (wheel,) = (base / "dist").glob("celery_results_dashboard-*.whl")

    venv = base / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], cwd=base)
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q",
         str(wheel)], cwd=base)
    venv_site = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                         cwd=base).strip())
    # The dependencies (Django, Celery, django-filter...) from this suite's own environment; not the checkout.
    (venv_site / "dependencies.pth").write_text("\n".join(site.getsitepackages()) + "\n")

    project = base / "hostproject"
    (project / "host").mkdir(parents=True)
    (project / "templates").mkdir()
    (project / "host" / "__init__.py").write_text("from .celery import app as celery_app\n")
    (project / "host" / "celery.py").write_text(textwrap.dedent(HOST_CELERY))
    (project / "host" / "settings.py").write_text(textwrap.dedent(HOST_SETTINGS))
    (project / "host" / "urls.py").write_text(textwrap.dedent(HOST_URLS))
    (project / "templates" / "sign_in.html").write_text(HOST_LOGIN_PAGE)
    (project / "templates" / "base.html").write_text(HOST_BASE)
    (project / "accounts" / "migrations").mkdir(parents=True)
    (project / "accounts" / "__init__.py").write_text("")
    (project / "accounts" / "migrations" / "__init__.py").write_text("")
    (project / "accounts" / "models.py").write_text(textwrap.dedent(HOST_USER_MODEL))
    (project / "check.py").write_text(CHECK)
    env = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "host.settings", "PYTHONPATH": str(project)}
    run([str(python), "-m", "django", "makemigrations", "accounts", "-v0"], cwd=project, env=env)
    run([str(python), "-m", "django", "migrate", "-v0"], cwd=project, env=env)
    return python, project, env, venv_site


def test_every_page_of_the_installed_apps_works_under_the_hosts_prefix_login_and_static_files(host):
    python, project, env, venv_site = host
    report = json.loads(run([str(python), "check.py"], cwd=project, env=env).splitlines()[-1])
    assert all(folder.startswith(str(venv_site)) for folder in report["installed_from"]), report["installed_from"]
    assert report["first"] == [302, "/sign-in/?next=/ops/celery/tasks/"]  # the host's own log-in page
    assert report["login"] == [302, "/ops/celery/tasks/"]
    assert report["statuses"] and set(report["statuses"].values()) == {200}, report["statuses"]
    assert report["outside"] == [], "links out of the host's paths"
    assert report["missing_static"] == [] and report["links_checked"] > 100
    assert {"/assets/dashboard/dashboard.css", "/assets/dashboard/dashboard.js"} <= set(report["static"])
    assert report["deleted"] == [302, False]
    assert report["audited_user"] == "payments"  # the audit trail points at the host's own user model
    assert report["host_layout"] == []
    assert report["json_view"] == 200

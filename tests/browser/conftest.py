"""Real Chromium, driven by Playwright, against pytest-django's live server.

Debian's ``/usr/bin/chromium`` is used (Playwright cannot download its own
browsers here); without it every browser test skips with the reason.
"""
import os
import random
import re
import shutil
from pathlib import Path

import pytest
from celery import states
from django.contrib.auth.models import Permission, User
from django.urls import reverse
from playwright.sync_api import expect

from demo.seed import dates_as_given, group_result, seed_tasks
from results.models import GroupResult, TaskResult
from tests.e2e import celery_app
from tests.factories import audit_entry, chord_counter

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PASSWORD = "browser-test-pw-4711"
SEEDED_ROWS = 600

# A real Celery worker for the tests that need one comes from the shared
# ``tests.fixtures.workers`` (``db_worker``, ``marker_dir``: a session-scoped
# worker writing into the test database, the same one the end-to-end tests
# use); only ``app`` is this folder's own (see below).

# Auto-waiting expectations wait this long (Playwright's default is 5 s):
# room for a loaded, shared CI machine; a passing check returns at once.
expect.set_options(timeout=20_000)


@pytest.fixture(scope="module")
def browser():
    """One Chromium per test module.

    Playwright's sync API keeps an event loop running in the test thread for
    as long as it is open, which makes Django refuse ORM calls there; the
    calls the tests make are synchronous and safe, so the check is relaxed
    for exactly that long (module scope, so later tests run with it on).
    """
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        pytest.skip(f"Chromium not found at {CHROMIUM}: install Debian's chromium package")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


class PageErrors(list):
    """The script errors of the pages a test opened, one line each.

    ``watch(page)`` records the page's uncaught exceptions (``pageerror``)
    and its console errors (``console.error``: htmx logs its error events
    there, a swap or target error for instance), except network noise:
    Chromium's report of a response that was not a success (the dashboard
    answers a rejected filter with 400 and a missing task with 404 on
    purpose), and htmx's log of a request it aborted (``hx-sync`` replaces
    a filter request still running with the newer one). A request that
    really fails shows in the test's own checks.
    """

    NETWORK_NOISE = re.compile(r"^(Failed to load resource: |htmx:(afterRequest|sendAbort)\b)")

    def watch(self, page):
        page.on("pageerror", lambda error: self.append(f"{page.url}: uncaught {error.stack or error.message}"))
        page.on("console", lambda message: self.console(page, message))

    def console(self, page, message):
        if message.type == "error" and not self.NETWORK_NOISE.match(message.text):
            where = message.location
            self.append(f"{page.url}: console error: {message.text} ({where['url']}:{where['lineNumber']})")


@pytest.fixture
def page_errors():
    """Fails the test, at teardown, when a page it opened had a script error, listing them."""
    errors = PageErrors()
    yield errors
    if errors:
        pytest.fail("script errors in the browser:\n" + "\n".join(errors), pytrace=False)


@pytest.fixture
def javascript():
    """Whether the test's pages run scripts; ``@pytest.mark.parametrize("javascript", [False])`` turns them off."""
    return True


@pytest.fixture
def page(browser, page_errors, javascript):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, java_script_enabled=javascript)
    context.on("page", page_errors.watch)  # every page of the test: this one, popups
    page = context.new_page()
    page.set_default_timeout(10_000)
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.dialogs = dialogs
    yield page
    context.close()


@pytest.fixture
def screenshot(page, tmp_path):
    """``screenshot(name)``: save what the page shows as ``<name>.png``.

    Under docs/screenshots/ (the README's pictures) when ``UPDATE_SCREENSHOTS``
    is set (``make screenshots``); otherwise in the test's temporary folder,
    so that a test run leaves the working tree as it was.
    """
    folder = SCREENSHOTS if os.environ.get("UPDATE_SCREENSHOTS") else tmp_path

    def take(name):
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path

    return take


def results_reader(username):
    """A user logging in with ``PASSWORD`` who may read results (``results.view_taskresult``), and nothing more."""
    user = User.objects.create_user(username, password=PASSWORD)
    user.user_permissions.add(Permission.objects.get(codename="view_taskresult", content_type__app_label="results"))
    return user


@pytest.fixture
def viewer(transactional_db):
    """A user who may read results, and nothing more."""
    return results_reader("operator")


@pytest.fixture
def operator(viewer, settings):
    """The viewer, also allowed to change results (``results.change_taskresult``: retry, resolve...), edits on."""
    settings.DJANGO_CELERY_RESULTS = {"ALLOW_EDITS": True}
    viewer.user_permissions.add(Permission.objects.get(codename="change_taskresult", content_type__app_label="results"))
    return viewer


@pytest.fixture
def login(page, live_server):
    """``login(user, path)``: open ``path`` (the overview), log in through the real form, land back on ``path``."""

    def log_in(user, path=None):
        path = path or reverse("dashboard:overview")
        page.goto(live_server.url + path)
        expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
        page.get_by_label("Username").fill(user.username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        expect(page).to_have_url(live_server.url + path)
        return page

    return log_in


@pytest.fixture
def logged_in(login, viewer):
    """A page logged in as ``viewer``, on the overview."""
    return login(viewer)


@pytest.fixture
def seeded(transactional_db):
    """A few hundred realistic task results (several workers, some failures) and a group.

    The seeded statuses depend on the time of day, so the group is made
    here rather than left to the seed's odds.
    """
    rng = random.Random(20261125)
    seed_tasks(SEEDED_ROWS, rng=rng, analyze=False)
    members = list(TaskResult.objects.order_by("-date_done", "-id")[:12])
    with dates_as_given(GroupResult):
        group_result(members, members[-1].date_created, rng).save()
    assert TaskResult.objects.filter(status=states.FAILURE).count() >= 2, "the seed should give failures"
    return SEEDED_ROWS


@pytest.fixture
def app(db_worker):
    """The real worker's Celery app, current for this test only, in every thread.

    The dashboard sends tasks (a retry) through Celery's current app; the
    live server answers in threads of its own, which fall back to the
    process's default app, so both are this app until the test ends, and
    then what they were (later tests see the project's app again).
    """
    from celery import _state, current_app

    previous_current, previous_default = current_app._get_current_object(), _state.default_app
    celery_app.app.set_current()
    celery_app.app.set_default()
    yield celery_app.app
    previous_current.set_current()
    _state.set_default_app(previous_default)


@pytest.fixture
def every_page(seeded, live_server):
    """The dashboard's pages, each with content: lists, details, insights, a chord, an audit entry, confirmations.

    The last ones are an operator's: open them logged in as ``operator``.
    """
    failed = TaskResult.objects.filter(status=states.FAILURE).order_by("-date_done").first()
    group = GroupResult.objects.first()
    chord_counter(header=TaskResult.objects.values_list("task_id", flat=True)[:3])
    entry = audit_entry(tasks=[{"task_id": failed.task_id, "new_task_id": "new-1"}])
    return [
        reverse("dashboard:overview"),
        reverse("dashboard:tasks"),
        reverse("dashboard:tasks") + "?status=FAILURE&status=SUCCESS&status=RETRY&status=STARTED",
        reverse("dashboard:task", args=[failed.task_id]),
        reverse("dashboard:task", args=["no-such-task"]),
        reverse("dashboard:failures") + "?window=7d",
        reverse("dashboard:task-names"),
        reverse("dashboard:task-name", args=[failed.task_name]),
        reverse("dashboard:workers"),
        reverse("dashboard:periodic"),
        reverse("dashboard:groups"),
        reverse("dashboard:group", args=[group.group_id]),
        reverse("dashboard:chords"),
        reverse("dashboard:audit"),
        reverse("dashboard:audit-entry", args=[entry.pk]),
        # An operator's (edits on, the change permission): the confirmation pages.
        reverse("dashboard:action", args=["retry"]) + f"?task_id={failed.task_id}",
        reverse("dashboard:delete-expired"),
    ]

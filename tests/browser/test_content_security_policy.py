"""Every page under the Content-Security-Policy (``dashboard_project.security``), in Chromium: no violation.

Each page is loaded with a listener for ``securitypolicyviolation`` in place before any of its scripts run, then
used a little (a live refresh, a filter swapped in by htmx) so that what htmx does counts too. A violation also
logs a console error, which the browser tests' page-error watch reports on its own.
"""
import re

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from playwright.sync_api import expect

from dashboard.models import FailureGroup
from dashboard.statistics import rollup
from results.models import GroupResult, TaskResult

from .conftest import PASSWORD

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.once]

RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation",
    (event) => window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI || "inline"}`));
"""


def pages():
    """Every kind of page: the dashboard's, an action's confirmation, the admin's, the log-in page."""
    task = TaskResult.objects.filter(status="FAILURE").first()
    group = GroupResult.objects.first()
    cause = FailureGroup.objects.first()
    return [
        reverse("dashboard:overview") + "?window=7d", reverse("dashboard:tasks"), reverse("dashboard:task",
                                                                                           args=[task.task_id]),
        reverse("dashboard:failures") + "?window=7d", reverse("dashboard:failure", args=[cause.digest]),
        reverse("dashboard:task-names"), reverse("dashboard:task-name", args=[task.task_name]),
        reverse("dashboard:workers"), reverse("dashboard:periodic"), reverse("dashboard:groups"),
        reverse("dashboard:group", args=[group.group_id]), reverse("dashboard:chords"), reverse("dashboard:audit"),
        reverse("dashboard:action", args=["retry"]) + f"?task_id={task.task_id}",
        reverse("dashboard:failure-retry", args=[cause.digest]),
        reverse("admin:index"), reverse("admin:results_taskresult_changelist"),
        reverse("admin:results_taskresult_change", args=[task.pk]),
    ]


@pytest.fixture
def admin_user(transactional_db, settings):
    settings.DJANGO_CELERY_RESULTS = {"ALLOW_EDITS": True}
    return User.objects.create_superuser("csp-admin", password=PASSWORD)


def violations(page):
    return page.evaluate("window.cspViolations")


def test_no_page_breaks_the_policy(seeded, login, live_server, admin_user, page):
    rollup.catch_up()
    page.add_init_script(RECORD_VIOLATIONS)
    login(admin_user)
    for path in pages():
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        assert violations(page) == [], path
    # htmx at work: a filter applied and its table swapped in, then a live refresh.
    page.goto(live_server.url + reverse("dashboard:tasks") + "?refresh=2")
    page.get_by_role("group", name="Status").get_by_role("checkbox", name="FAILURE", exact=True).check()
    expect(page).to_have_url(re.compile(r"status=FAILURE"))
    expect(page.locator("#task-results tbody .badge", has_text="SUCCESS")).to_have_count(0)
    page.wait_for_timeout(2500)
    assert violations(page) == []


def test_an_inline_handler_is_refused_and_reported(seeded, login, live_server, admin_user, page, page_errors):
    """The listener sees what the policy blocks (this test would pass for no reason otherwise)."""
    page.add_init_script(RECORD_VIOLATIONS)
    login(admin_user)
    page.evaluate("document.body.insertAdjacentHTML('beforeend', '<img src=\"data:,\" onload=\"window.ran = 1\">')")
    page.wait_for_function("window.cspViolations.length > 0")
    assert violations(page)[0].startswith("script-src") and page.evaluate("window.ran") is None
    page_errors.clear()  # the console error of the refusal is this test's point, not a fault

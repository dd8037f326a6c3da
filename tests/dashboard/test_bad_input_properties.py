"""Bad input, always: every GET URL outside ``/results/`` (the dashboard's pages, the project's own) under hostile
query strings, path ids and htmx headers answers without a server error and changes no table.

The routes come from the URLconf (``tests.bad_input.url_routes``): each has a
``Case`` here, is excluded with a reason, or answers GET with 405 (a POST
endpoint: its GET changes nothing by construction); a route that is none of
these fails ``test_every_get_route_is_covered``. ``/results/`` has its own
file (``tests/results/test_bad_input_properties.py``).

The statistics are counted before the examples run and are fresh for the
whole test (``STATISTICS_STALE``): the insights pages' bounded catch-up
(``dashboard.statistics.freshness``, documented to write the statistics
tables when the figures are stale) does not run, so no exception is made,
even for the statistics tables. The catch-up reads no request input; its
own tests are in ``tests/dashboard/test_insights.py``.
"""
import json
import re
from datetime import timedelta

import pytest
from celery import states
from django.test import Client
from django.utils import timezone
from hypothesis import strategies as st

from dashboard.models import FailureGroup, Redrive, SavedView
from tests import factories
from tests.bad_input import Case, check_never_a_server_error, header_text, ids, numeric_ids, url_routes
from tests.support import OTHER_DB

from .test_failures import traceback
from .test_insights import counted

pytestmark = pytest.mark.django_db

METRICS_TOKEN = "s3cret-scrape-token"

#: Task ids the seeded rows use, odd ones included: a slash, unicode, a space, an empty id.
TASK_IDS = ("3f1c2d9e-0c1b-4a51-9a8e-5a7f0b1e2c3d", "proj/nested/id", "ümlaut-ünïcödé", "with space", "t.1-2_3")
GROUP_IDS = ("a7d9f3c2-group-0001", "g/with/slash", "broken-group")
CHORD_ID = "c0ffee00-chord-0001"
TASK_FILTERS = ("q", "status", "worker", "task_name", "periodic_task_name", "fingerprint", "date_done_after",
                "date_done_before", "date_done_min", "date_done_max", "date_done")
INSIGHTS = ("window", "refresh", "sort", "page", "per_page")


def seed(user):
    """A small, realistic store: tasks in every state (odd ids too), two failure causes, groups (one corrupt), a
    running chord, an audit entry with its tasks, counted statistics, a bulk retry of one cause, and saved views
    (``user``'s own, another's shared and private ones, one whose stored query no list would write)."""
    now = timezone.now()

    def done(minutes, **fields):
        at = now - timedelta(minutes=minutes)
        return factories.task_result(date_created=at - timedelta(seconds=3), date_started=at - timedelta(seconds=2),
                                     date_done=at, **fields)

    for task_id, status in zip(TASK_IDS, (states.SUCCESS, states.FAILURE, states.STARTED, states.RETRY, "CUSTOM"),
                               strict=True):
        done(5, task_id=task_id, status=status, task_name="shop.charge", periodic_task_name="nightly")
    for minutes in (10, 20, 70, 60 * 30):
        done(minutes, status=states.FAILURE, task_name="shop.charge", worker="celery@beta",
             traceback=traceback("KeyError", "'sku-1'", "/srv/app/shop/billing.py", "invoice"))
        done(minutes + 1, status=states.FAILURE, task_name="mail.send ü/é", worker="celery@ünï",
             traceback=traceback("TimeoutError", "smtp", "/srv/app/mail.py", "send"))
    done(3, task_id="", status=states.SUCCESS)
    done(2, status=states.SUCCESS, content_type="application/x-python-serialize", task_args="gASVBAAAAAAAAABLAYWULg==",
         result="gAVLAy4=")
    done(1, status=states.SUCCESS, meta=json.dumps({"children": [factories.task_ref(TASK_IDS[0])], "x": 1}))
    factories.task_results(30, task_name="bulk.job")
    members = [factories.task_ref(task_id) for task_id in TASK_IDS]
    factories.group_result(GROUP_IDS[0], json.dumps(factories.group_ref(GROUP_IDS[0], members)))
    factories.group_result(GROUP_IDS[1], json.dumps(factories.group_ref(GROUP_IDS[1], members[:2])))
    factories.group_result(GROUP_IDS[2], "not a result tuple {")
    factories.group_result("", json.dumps(factories.group_ref("", members[:1])))
    factories.chord_counter(TASK_IDS[:3], group_id=CHORD_ID, count=2)
    factories.chord_counter(group_id="corrupt-chord", sub_tasks="[[[", count=1)
    audit = factories.audit_entry([{"task_id": TASK_IDS[1], "new_task_id": "retried-1"},
                                   {"task_id": "gone", "ok": False, "detail": "no such task"}])
    counted()
    group = FailureGroup.objects.order_by("first_seen").first()
    redrive_entry = factories.audit_entry(action="redrive")
    redrive = Redrive.objects.create(group=group, entry=redrive_entry, since=now - timedelta(days=2), until=now,
                                     state=Redrive.State.RUNNING, rate=10, limit=100, planned=3, sent=1,
                                     refusals={"pickle": 1}, started=now, heartbeat=now)
    redrive.items.create(task_id=TASK_IDS[1], new_task_id="redriven-1", sent_at=now)
    redrive.items.create(task_id="not-sent-yet")
    other = factories.user_with()
    for owner, name, list_name, query, shared in [
                 (user, "mine", "tasks", "status=FAILURE&sort=-date_done", False),
                 (other, "team's", "failures", "window=7d&state=new", True),
                 (other, "private", "groups", "q=a7d9", False),
                 (user, "tampered", "tasks", "sort=%zz&status=NOPE&&=%00", False)]:
        SavedView.objects.create(owner=owner, name=name, list_name=list_name, query=query, shared=shared)
    return {"digests": list(FailureGroup.objects.values_list("digest", flat=True)), "audit": [audit.pk,
            redrive_entry.pk], "redrives": [redrive.pk]}


def bearer():
    """An ``Authorization`` header: the right token now and then, mostly not."""
    value = st.one_of(st.just(f"Bearer {METRICS_TOKEN}"), st.just(f"bearer  {METRICS_TOKEN} "),
                      st.builds("Bearer {}".format, header_text()), header_text())
    return st.fixed_dictionaries({}, optional={"Authorization": value})


def cases(seeded):
    """The ``Case`` of each route this file covers."""
    digests = ids(seeded["digests"], max_size=80)
    task_ids = ids(TASK_IDS)
    return {
        "": Case(),
        "healthz": Case(examples=20),  # reads nothing of the request; each answer asks the broker
        "metrics": Case(headers=bearer(), examples=50),
        "accounts/login/": Case(("next", "username"), examples=50),
        "dashboard/": Case(INSIGHTS),
        "dashboard/task-names/": Case(INSIGHTS),
        "dashboard/task-names/<path:name>/": Case(INSIGHTS, {"name": ids(("shop.charge", "mail.send ü/é",
                                                                          "bulk.job"))}),
        "dashboard/workers/": Case(INSIGHTS),
        "dashboard/periodic/": Case(INSIGHTS),
        "dashboard/failures/": Case(INSIGHTS + ("task_name", "state")),
        "dashboard/failures/<str:digest>/": Case(INSIGHTS, {"digest": digests}),
        "dashboard/failures/<str:digest>/retry/": Case(("since", "until", "next"), {"digest": digests}),
        "dashboard/failures/<str:digest>/<slug:action>/": Case(("next",), {
            "digest": digests, "action": st.one_of(st.sampled_from(["resolve", "ignore", "reopen"]), ids())}),
        "dashboard/tasks/": Case(TASK_FILTERS),
        "dashboard/count/tasks/": Case(TASK_FILTERS),
        "dashboard/export/tasks/": Case(TASK_FILTERS + ("format",)),
        "dashboard/same-args/<path:task_id>/": Case((), {"task_id": task_ids}),
        "dashboard/tasks/<path:task_id>/": Case(("full",), {"task_id": task_ids}),
        "dashboard/groups/": Case(("q", "date_done_after", "date_done_before")),
        "dashboard/groups/<path:group_id>/": Case(("refresh",), {"group_id": ids(GROUP_IDS + (CHORD_ID,))}),
        "dashboard/chords/": Case(("refresh",)),
        "dashboard/actions/delete-expired/": Case(("next",)),
        "dashboard/actions/<slug:action>/": Case(("task_id", "scope", "next") + TASK_FILTERS, {
            "action": st.one_of(st.sampled_from(["retry", "revoke", "terminate", "delete", "delete-expired",
                                                 "resolve", "redrive"]), ids())}),
        "dashboard/redrives/<int:pk>/": Case((), {"pk": numeric_ids(seeded["redrives"])}),
        "dashboard/metrics/": Case(headers=bearer(), examples=50),
        "dashboard/audit/": Case(("page", "sort")),
        "dashboard/audit/<int:pk>/": Case((), {"pk": numeric_ids(seeded["audit"])}),
    }


#: Routes whose GET is not this project's to test, each with why.
EXCLUDED = {
    "admin/": "Django's admin site (every route under it): Django's own views and its own handling of bad input",
}

ROUTE_NAMES = [route for route, _pattern in url_routes() if not route.startswith("results/")]
COVERED = set(cases({"digests": ["x"], "audit": [1], "redrives": [1]}))


def excluded(route):
    return next((reason for prefix, reason in EXCLUDED.items() if route.startswith(prefix)), None)


@pytest.fixture
def hostile_settings(settings):
    settings.DJANGO_CELERY_RESULTS = {"ALLOW_EDITS": True}  # the confirmation pages render, not only their 403
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 0, "STATISTICS_STALE": 10**9, "METRICS_TOKEN": METRICS_TOKEN}


@pytest.fixture
def operator_client(hostile_settings, operator):
    """A client of an operator (``tests/dashboard/conftest.py``: may view, change and delete results)."""
    client = Client()
    client.force_login(operator)
    return client


@pytest.fixture
def clients(operator_client, viewer):
    """Who asks: the operator most often, a viewer (no operator action), someone not logged in."""
    as_viewer = Client()
    as_viewer.force_login(viewer)
    return {"operator": operator_client, "viewer": as_viewer, "anonymous": Client()}


def test_every_get_route_is_covered(operator_client):
    """A route added to the URLconf gets a ``Case`` above, an entry in ``EXCLUDED``, or is POST only (GET: 405)."""
    unknown = {}
    for route in ROUTE_NAMES:
        if route in COVERED or excluded(route):
            continue
        url = "/" + re.sub(r"<[^>]+>", "x", re.sub(r"<int:\w+>", "1", route))
        status = operator_client.get(url).status_code
        if status != 405:
            unknown[route] = status
    assert not unknown, f"GET routes with no Case and no reason to leave them out (route: GET status): {unknown}"
    assert set(ROUTE_NAMES) >= COVERED, f"Cases of routes the URLconf no longer has: {COVERED - set(ROUTE_NAMES)}"


def every_case():
    """The covered routes as test parameters; ``/healthz`` checks every database alias, the second one too."""
    for route in sorted(COVERED):
        marks = [pytest.mark.django_db(databases=["default", OTHER_DB])] if route == "healthz" else []
        yield pytest.param(route, marks=marks, id=route or "(root)")


@pytest.mark.parametrize("route", every_case())
def test_never_a_server_error_and_never_a_change(clients, operator, route):
    seeded = seed(operator)
    check_never_a_server_error(clients, route, cases(seeded)[route])

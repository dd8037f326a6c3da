"""Bad input, always: the JSON status views under ``/results/`` (``results.urls`` as the project mounts it) answer
hostile ids, query strings and headers without a server error, and change no table.

The routes come from the URLconf (``tests.bad_input.url_routes``): a route
under ``/results/`` with no ``Case`` here fails
``test_every_results_route_is_covered``. The dashboard's routes are covered
by ``tests/dashboard/test_bad_input_properties.py``.
"""
import json
import re
import string
from urllib.parse import quote

import pytest
from celery import states
from celery.result import AsyncResult, GroupResult
from django.test import Client
from hypothesis import strategies as st

from results.models import GroupResult as StoredGroupResult
from tests import factories
from tests.bad_input import LONG, ODD_WORDS, TEXT, Case, check_never_a_server_error, ids, url_routes

pytestmark = pytest.mark.django_db

TRACEBACK = 'Traceback (most recent call last):\n  File "tasks.py", line 3, in add\nValueError: boom\n'
TASK_IDS = ("3f1c2d9e-0c1b-4a51-9a8e-5a7f0b1e2c3d", "done.1", "failed_1", "ünïcode-id", "pending-never-stored")
GROUP_IDS = ("group-1", "group.empty", "group-corrupt", "group-not-json")
UNREADABLE_GROUPS = GROUP_IDS[2:]

ROUTES = [route for route, _pattern in url_routes() if route.startswith("results/")]


def seed(app):
    """Tasks stored as a worker stores them (a success, a failure, a result JSON cannot hold), groups of them, a
    group with no members, and two whose stored result is not a group's result tuple."""
    app.backend.store_result(TASK_IDS[0], {"total": 3, "items": ["a", "b"]}, states.SUCCESS)
    app.backend.store_result(TASK_IDS[1], 3, states.SUCCESS)
    app.backend.store_result(TASK_IDS[2], ValueError("boom"), states.FAILURE, traceback=TRACEBACK)
    app.backend.store_result(TASK_IDS[3], None, states.STARTED)
    GroupResult(GROUP_IDS[0], [AsyncResult(task_id, app=app) for task_id in TASK_IDS], app=app).save()
    GroupResult(GROUP_IDS[1], [], app=app).save()
    factories.group_result(GROUP_IDS[2], json.dumps({"not": "a tuple"}))
    factories.group_result(GROUP_IDS[3], "[[[")


def hostile_ids():
    """A path id: a stored one, or anything the ``task_pattern`` converter lets through (letters of any script,
    digits, ``-``, ``_``, ``.``), or anything at all (which the invalid-id route or a plain 404 answers)."""
    word_characters = st.characters(categories=["L", "N"]) | st.sampled_from("-_.")
    return st.one_of(ids(TASK_IDS + GROUP_IDS), st.text(word_characters, min_size=1, max_size=300))


#: The noun-first prefixes the invalid-id route answers for anything after them.
INVALID_ID_PATHS = st.tuples(
    st.sampled_from(["/results/task/done/", "/results/task/status/", "/results/group/done/", "/results/group/status/"]),
    st.one_of(ODD_WORDS, TEXT, LONG, st.text(string.printable, max_size=40)),
).map(lambda parts: parts[0] + quote(parts[1], safe="/%"))  # a raw "%zz" stays as it is


UNREADABLE = re.compile(r"Could not read group (.+) from the result backend \([\w.]+\)\.")


def unreadable_stored_group(response):
    """A 503 naming a group whose stored result is not a group's result tuple (seeded so): ``results.views``
    answers a stored result it cannot decode with 503 and the reason, on purpose
    (``tests/results/test_views.py``: ``test_stored_result_that_cannot_be_decoded_is_a_503``)."""
    match = UNREADABLE.fullmatch(response.json().get("error", "")) if response.status_code == 503 else None
    return bool(match) and StoredGroupResult.objects.filter(group_id=match[1], group_id__in=UNREADABLE_GROUPS).exists()


def case(route):
    if route.startswith("results/(?:"):
        return Case(path=INVALID_ID_PATHS)
    return Case(arguments={"task_id": hostile_ids(), "group_id": hostile_ids()}, documented_5xx=unreadable_stored_group)


def test_every_results_route_is_covered():
    """Every ``/results/`` route is an id route (a case of ``task_id`` or ``group_id``) or the invalid-id route."""
    for route in ROUTES:
        built = case(route)
        assert built.path is not None or "<task_pattern:" in route, f"{route}: no Case for it here"


@pytest.mark.parametrize("route", ROUTES)
def test_never_a_server_error_and_never_a_change(current_celery_app, route):
    seed(current_celery_app())
    viewer = Client()
    viewer.force_login(factories.user_with())
    check_never_a_server_error({"viewer": viewer, "anonymous": Client()}, route, case(route))

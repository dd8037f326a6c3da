"""Exporting the task list: exactly the list's rows in its order (filters, sorts, chunks, ties), CSV and JSON lines
that parse, decoded values, the bound said in a header, bad input refused, access as the list's."""
import csv
import io
import json
from datetime import timedelta
from unittest import mock

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard import exports
from results.models import TaskResult

pytestmark = pytest.mark.django_db

URL = reverse("dashboard:task-export")
LIST = reverse("dashboard:tasks")


def exported(client, **query):
    response = client.get(URL, query)
    assert response.status_code == 200, response.content if not response.streaming else ""
    assert response.streaming
    return response, b"".join(response.streaming_content).decode()


def csv_ids(text):
    rows = list(csv.DictReader(io.StringIO(text)))
    return [row["task_id"] for row in rows], rows


def listed_ids(client, **query):
    """Every row of the list, page after page (by cursor or page number), as an operator would see them."""
    ids, query = [], {**query}
    while True:
        response = client.get(LIST, query)
        table = response.context["table"]
        ids += [row.record.task_id for row in table.paginated_rows]
        page = table.page
        if not page.has_next():
            return ids
        if hasattr(page, "next_cursor"):
            query["cursor"] = page.next_cursor
        else:
            query["page"] = page.next_page_number()


@pytest.fixture
def mixed(make_tasks):
    """Sixty tasks over three workers and two states, four of them sharing one date_done (ties)."""
    make_tasks(30, worker="celery@a", status="SUCCESS", task_name="shop.b")
    make_tasks(20, worker="celery@b", status="FAILURE", task_name="shop.a")
    make_tasks(10, worker="celery@c", status="FAILURE", task_name="shop.c")
    same = timezone.now() - timedelta(minutes=10)
    tied = TaskResult.objects.order_by("id").values_list("id", flat=True)[:4]
    TaskResult.objects.filter(id__in=list(tied)).update(date_done=same)


@pytest.mark.parametrize("query", [{}, {"status": "FAILURE"}, {"status": "FAILURE", "worker": "celery@b"},
                                   {"sort": "task_name"}, {"sort": "-worker"}, {"sort": "date_created"}],
                         ids=["all", "failures", "failures-on-b", "by-name", "by-worker-desc", "by-created"])
def test_the_export_holds_exactly_the_lists_rows_in_its_order(client_viewer, mixed, query):
    with mock.patch.object(exports, "CHUNK", 7):  # many chunks, boundaries inside the ties
        _response, text = exported(client_viewer, format="csv", **query)
    ids, _rows = csv_ids(text)
    assert ids == listed_ids(client_viewer, **query)
    assert len(ids) == TaskResult.objects.filter(
        **{key: value for key, value in query.items() if key != "sort"}).count()


def test_json_lines_decode_the_stored_values(client_viewer, make_task):
    now = timezone.now()
    make_task(task_id="json", task_args="[1, 2]", task_kwargs='{"k": "v"}', result='{"total": 3}',
              date_started=now - timedelta(seconds=2), date_done=now)
    make_task(task_id="repr", task_args=json.dumps("(1, 'x')"), task_kwargs=json.dumps("{}"), status="FAILURE",
              traceback="Traceback (most recent call last):\n  ...\nKeyError: 'sku'\n\n")
    make_task(task_id="pickled", content_type="application/x-python-serialize", result="gASVBAAAAAAAAABLAYWULg==")
    _response, text = exported(client_viewer, format="jsonl")
    records = {record["task_id"]: record for record in map(json.loads, text.splitlines())}
    assert set(records) == {"json", "repr", "pickled"}
    assert (records["json"]["args"], records["json"]["kwargs"], records["json"]["result"]) == (
        [1, 2], {"k": "v"}, {"total": 3})
    assert records["json"]["runtime_seconds"] == 2.0
    assert records["repr"]["args"] == "(1, 'x')" and records["repr"]["exception"] == "KeyError: 'sku'"
    assert records["pickled"]["result"] == "gASVBAAAAAAAAABLAYWULg=="  # never unpickled: as stored
    assert list(records["json"]) == list(exports.COLUMNS)


def test_the_bound_cuts_between_rows_and_says_so(client_viewer, make_tasks, settings):
    make_tasks(25)
    settings.DASHBOARD = {"EXPORT_LIMIT": 10}
    response, text = exported(client_viewer, format="csv")
    ids, rows = csv_ids(text)
    assert len(ids) == 10 and response["X-Export-Truncated"] == "first 10 rows of more"
    assert ids == listed_ids(client_viewer)[:10] and all(row["task_id"] for row in rows)
    response, text = exported(client_viewer, format="jsonl")
    assert len(text.splitlines()) == 10 and all(json.loads(line) for line in text.splitlines())
    settings.DASHBOARD = {"EXPORT_LIMIT": 25}
    response, _text = exported(client_viewer, format="csv")
    assert "X-Export-Truncated" not in response


def test_values_that_csv_must_quote_stay_whole(client_viewer, make_task):
    make_task(task_id="odd", task_name='a,"b"\nc', worker="w\tx;y", task_args='["\\u00e9", "comma, quote \\""]')
    _response, text = exported(client_viewer, format="csv")
    (row,) = csv.DictReader(io.StringIO(text))
    assert row["task_name"] == 'a,"b"\nc' and row["worker"] == "w\tx;y"
    assert json.loads(row["args"]) == ["é", 'comma, quote "']


def test_bad_input_is_400_with_the_reason(client_viewer):
    response = client_viewer.get(URL, {"format": "xlsx"})
    assert response.status_code == 400 and b"csv, jsonl" in response.content
    response = client_viewer.get(URL, {"status": "NOPE"})
    assert response.status_code == 400 and b"status" in response.content


def test_access_is_the_lists(client, stranger, db):
    response = client.get(URL)
    assert response.status_code == 302 and "login" in response["Location"]
    client.force_login(stranger)
    assert client.get(URL).status_code == 403


def test_the_list_links_its_export_with_its_filters_and_sort(client_viewer, mixed):
    html = client_viewer.get(LIST, {"status": "FAILURE", "sort": "task_name", "refresh": "5"}).content.decode()
    assert f'{URL}?status=FAILURE&amp;sort=task_name&amp;format=csv' in html
    assert f'{URL}?status=FAILURE&amp;sort=task_name&amp;format=jsonl' in html


def test_an_export_reads_one_query_per_chunk(client_viewer, make_tasks, django_assert_max_num_queries):
    make_tasks(35)
    # session, user, its permissions (2), the status filter's choices, the bound; then four chunks
    with mock.patch.object(exports, "CHUNK", 10), django_assert_max_num_queries(6 + 4):
        _response, text = exported(client_viewer, format="jsonl")
    assert len(text.splitlines()) == 35

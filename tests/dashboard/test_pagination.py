"""``dashboard.pagination``: the keyset paginator and its cursors, the numbered paginator, driven by django-tables2.

A page request that names no page is answered with the first page and a
message, never an exception; no paginator ever counts the rows.
"""
import datetime as dt

import django_tables2 as tables
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dashboard import selectors
from dashboard.pagination import Cursor, InvalidCursor, KeysetPage, KeysetPaginator, NumberedPaginator
from dashboard.tables import TaskTable
from results.models import TaskResult

URL = reverse("dashboard:tasks")


def task_ids(page):
    return [getattr(row, "record", row).task_id for row in page.object_list]


@pytest.fixture
def seven(make_tasks):
    """Seven tasks one second apart, oldest first."""
    return make_tasks(7)


# --- cursors ---------------------------------------------------------------------


def test_a_cursor_is_the_rows_date_to_the_microsecond_and_its_id():
    when = dt.datetime(2026, 3, 4, 5, 6, 7, 890123, tzinfo=dt.UTC)
    cursor = Cursor("after", when, 42)
    assert cursor.encode() == f"after.{int(when.timestamp()) * 10**6 + 890123}.42"
    assert Cursor.decode(cursor.encode()) == cursor
    before = Cursor("before", dt.datetime(1969, 12, 31, 23, 59, 59, tzinfo=dt.UTC), 1)
    assert before.encode() == "before.-1000000.1" and Cursor.decode("before.-1000000.1") == before


def test_a_cursor_is_taken_at_a_row(make_task):
    task = make_task()
    assert Cursor.at("before", task) == Cursor("before", task.date_done, task.pk)


@pytest.mark.parametrize(
    "text",
    [
        "", "after", "after.1", "after.1.2.3", "sideways.1.2", "AFTER.1.2", "after.x.1", "after.1.x",
        "after.1.0", "after.1.-1", f"after.1.{2**63}", "after.1.99999999999999999999",
        "after.99999999999999999999.1", "after.-99999999999999999999.1", "after.999999999999999999.1",
        "after.1_000.5", "after. 1.5", "after.+1.5", "after.1.5 ", "after.1.\x00", "after.\u0661.1",
        "a" * 10_000, "after." + "9" * 5_000 + ".1", "after.1." + "9" * 5_000,
    ],
)
def test_anything_but_a_written_cursor_is_refused_clearly(text):
    with pytest.raises(InvalidCursor) as refused:
        Cursor.decode(text)
    message = str(refused.value)
    assert message.endswith("is not a position in this list") and len(message) < 100


# --- the keyset paginator -------------------------------------------------------------


def test_pages_newest_first_and_back_through_every_row_once(seven):
    paginator = KeysetPaginator(selectors.task_rows(), 3)
    expected = [t.task_id for t in reversed(seven)]
    pages = [paginator.page()]
    while pages[-1].has_next():
        pages.append(paginator.page(pages[-1].next_cursor))
    assert [task_ids(page) for page in pages] == [expected[0:3], expected[3:6], expected[6:]]
    assert not pages[0].has_previous() and pages[1].has_previous() and pages[2].has_previous()
    back = paginator.page(pages[2].previous_cursor)
    assert task_ids(back) == expected[3:6] and back.has_next() and back.has_previous()
    top = paginator.page(back.previous_cursor)
    assert task_ids(top) == expected[0:3] and not top.has_previous() and top.has_next()


def test_oldest_first_pages_the_other_way(seven):
    paginator = KeysetPaginator(selectors.task_rows(), 4, descending=False)
    first = paginator.page()
    assert task_ids(first) == [t.task_id for t in seven[:4]]
    assert task_ids(paginator.page(first.next_cursor)) == [t.task_id for t in seven[4:]]


def test_rows_sharing_a_date_are_ordered_by_id(make_task):
    when = timezone.now().replace(microsecond=0)
    tasks = [make_task(date_created=when, date_done=when) for _ in range(5)]
    paginator = KeysetPaginator(selectors.task_rows(), 2)
    seen, page = [], paginator.page()
    while True:
        seen += task_ids(page)
        if not page.has_next():
            break
        page = paginator.page(page.next_cursor)
    assert seen == [t.task_id for t in sorted(tasks, key=lambda t: t.pk, reverse=True)]


def test_every_page_is_one_query_that_starts_at_the_cursor(seven, django_assert_num_queries):
    paginator = KeysetPaginator(selectors.task_rows().filter(status="SUCCESS"), 3)
    with django_assert_num_queries(1) as captured:
        deep = paginator.page(Cursor.at("after", seven[3]).encode())
    assert task_ids(deep) == [seven[2].task_id, seven[1].task_id, seven[0].task_id]
    sql = captured.captured_queries[0]["sql"].upper()
    assert "LIMIT 4" in sql and "OFFSET" not in sql and "COUNT(" not in sql


@pytest.mark.parametrize("cursor", ["garbage", "after.1.0", "a" * 10_000, "before.99999999999999999999.1"])
def test_a_bad_cursor_gets_the_first_page_and_says_why(seven, cursor):
    page = KeysetPaginator(selectors.task_rows(), 3).page(cursor)
    assert task_ids(page) == [t.task_id for t in reversed(seven)][:3]
    assert page.error.startswith("Bad cursor: ") and page.error.endswith("Showing the first page.")
    assert len(page.error) < 150 and not page.has_previous()


def test_a_tampered_but_well_formed_cursor_is_just_a_position(seven):
    paginator = KeysetPaginator(selectors.task_rows(), 3)
    future = Cursor("after", timezone.now() + dt.timedelta(days=3650), 2**62).encode()
    assert task_ids(paginator.page(future)) == [t.task_id for t in reversed(seven)][:3]
    past = paginator.page(Cursor("after", dt.datetime(1971, 1, 1, tzinfo=dt.UTC), 1).encode())
    assert task_ids(past) == [] and not past.has_next() and not past.has_previous() and not past.error
    ahead = paginator.page(Cursor("before", timezone.now() + dt.timedelta(days=1), 1).encode())
    assert ahead.error == "" and not ahead.has_previous()


def test_an_empty_list_has_one_empty_page(db):
    page = KeysetPaginator(selectors.task_rows(), 3).page()
    assert isinstance(page, KeysetPage) and len(page) == 0 and not page.has_other_pages() and page.number is None


def test_django_tables2_drives_it_and_gets_its_rows_back(seven, django_assert_num_queries):
    table = TaskTable(selectors.task_rows())
    with django_assert_num_queries(1):
        table.paginate(KeysetPaginator, 3, None, descending=True)
        rows = list(table.paginated_rows)
    assert all(isinstance(row, tables.rows.BoundRow) for row in rows)
    assert [row.record.task_id for row in rows] == [t.task_id for t in reversed(seven)][:3]
    assert table.page.has_next() and table.paginator.per_page == 3


def test_it_refuses_what_it_cannot_page_by_cursor():
    with pytest.raises(TypeError):
        KeysetPaginator([1, 2, 3], 2)
    with pytest.raises(TypeError):
        TaskTable([{"task_id": "x"}]).paginate(KeysetPaginator, 2, None)


# --- the numbered paginator ----------------------------------------------------------------


@pytest.fixture
def by_name(seven):
    return TaskResult.objects.order_by("task_id", "id")


def test_numbered_pages_never_count(by_name, django_assert_num_queries):
    paginator = NumberedPaginator(by_name, 3, max_page=10)
    with django_assert_num_queries(1) as captured:
        second = paginator.page("2")
    assert [t.task_id for t in second] == [t.task_id for t in by_name][3:6]
    assert second.has_next() and second.has_previous() and second.error == ""
    assert "COUNT(" not in captured.captured_queries[0]["sql"].upper()
    last = paginator.page(3)
    assert len(last) == 1 and not last.has_next()


@pytest.mark.parametrize(
    "number, message",
    [
        ("0", "Page 0 does not exist: pages go from 1 to 10"),
        ("-1", "Page -1 does not exist"),
        ("11", "Page 11 does not exist"),
        ("abc", "Page abc does not exist"),
        ("2.5", "Page 2.5 does not exist"),
        ("9" * 30, "Page 99999999999999999999 does not exist"),
        ("\x00", "does not exist"),
        ("4", "Page 4 is past the end of the list."),
    ],
)
def test_a_page_that_does_not_exist_gets_the_first_page_and_says_why(by_name, number, message):
    page = NumberedPaginator(by_name, 3, max_page=10).page(number)
    assert page.number == 1 and [t.task_id for t in page] == [t.task_id for t in by_name][:3]
    assert message in page.error and page.error.endswith("Showing the first page.")


@pytest.mark.parametrize("number", [None, "", "  ", " 1 "])
def test_no_page_number_is_the_first_page(by_name, number):
    page = NumberedPaginator(by_name, 3, max_page=10).page(number)
    assert page.number == 1 and page.error == ""


# --- through the list's view ------------------------------------------------------------------


@pytest.mark.parametrize("query", ["", "?sort=-date_done", "?sort=date_done", "?sort=task_name&page=2", "?cursor=x"])
def test_a_list_page_never_counts_the_table(client_viewer, make_tasks, query):
    make_tasks(30)
    with CaptureQueriesContext(connection) as captured:
        client_viewer.get(URL + query)
    assert not [q for q in captured.captured_queries if "COUNT(" in q["sql"].upper()]


def test_rows_per_page_are_the_settings_not_the_query_strings(client_viewer, make_tasks):
    make_tasks(30)
    response = client_viewer.get(URL + "?per_page=1000")
    assert response.status_code == 200 and len(list(response.context["table"].paginated_rows)) == 25

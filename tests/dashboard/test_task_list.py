"""The task list: filters, sorting, paging, htmx partials, bad input, escaping."""
import re
from datetime import timedelta

import pytest
from celery import states
from django.urls import reverse
from django.utils import timezone

from dashboard.formatting import status_badge

from .pager import pager, pager_error, pager_link

URL = reverse("dashboard:tasks")
HTMX = {"HX-Request": "true", "HX-Target": "task-results"}


def ids_in(response):
    """Task ids of the rows shown, in order."""
    return [row.record.task_id for row in response.context["table"].paginated_rows]


def test_lists_newest_first_with_every_column(client_viewer, make_task):
    old = make_task(task_name="proj.old", periodic_task_name="nightly")
    new = make_task(task_name="proj.new")
    response = client_viewer.get(URL)
    assert response.status_code == 200
    assert ids_in(response)[:2] == [new.task_id, old.task_id]
    html = response.content.decode()
    headers = (
        "Task id", "Task name", "Status", "Worker", "Periodic task",
        "Created", "Started", "Runtime", "Queue wait",
    )
    for header in headers:
        assert header in html
    assert "nightly" in html
    assert f'title="{new.task_id}"' in html  # full id on hover
    assert reverse("dashboard:task", args=[new.task_id]) in html


def test_full_page_without_htmx_and_only_the_table_with_it(client_viewer, make_task):
    make_task()
    full = client_viewer.get(URL)
    assert b"<html" in full.content and b'id="task-filter"' in full.content
    partial = client_viewer.get(URL + "?status=SUCCESS", headers=HTMX)
    assert partial.status_code == 200
    assert b"<html" not in partial.content and b'id="task-filter"' not in partial.content
    assert b'id="task-results"' in partial.content
    assert partial["HX-Push-Url"] == URL + "?status=SUCCESS"


def test_pushed_url_drops_empty_parameters(client_viewer, db):
    response = client_viewer.get(URL + "?q=&status=FAILURE&worker=&task_name=", headers=HTMX)
    assert response["HX-Push-Url"] == URL + "?status=FAILURE"


def test_a_live_refresh_poll_leaves_history_alone(client_viewer, db):
    headers = {**HTMX, "HX-Trigger": "task-results"}
    response = client_viewer.get(URL + "?refresh=5", headers=headers)
    assert response.status_code == 200
    assert "HX-Push-Url" not in response


def test_htmx_request_for_another_target_gets_the_full_page(client_viewer, db):
    response = client_viewer.get(URL, headers={"HX-Request": "true", "HX-Target": "main"})
    assert b"<html" in response.content


@pytest.mark.parametrize(
    "query, expected",
    [
        ("status=FAILURE", {"fail-a1", "fail-b1"}),
        ("status=FAILURE&status=RETRY", {"fail-a1", "fail-b1", "retry-a1"}),
        ("worker=celery%40b", {"fail-b1", "ok-b1"}),
        ("status=FAILURE&worker=celery%40b", {"fail-b1"}),
        ("task_name=proj.mail", {"ok-b1"}),
        ("periodic_task_name=nightly", {"retry-a1"}),
        ("q=fail-", {"fail-a1", "fail-b1"}),
        ("q=MAIL", {"ok-b1"}),
        ("q=retry-a1", {"retry-a1"}),
        ("status=SUCCESS&task_name=proj.mail&worker=celery%40b", {"ok-b1"}),
        ("status=SUCCESS&task_name=proj.mail&worker=celery%40a", set()),
    ],
)
def test_filters_and_their_combinations(client_viewer, make_task, query, expected):
    make_task(task_id="fail-a1", status="FAILURE", worker="celery@a", task_name="proj.add")
    make_task(task_id="fail-b1", status="FAILURE", worker="celery@b", task_name="proj.add")
    make_task(task_id="retry-a1", status="RETRY", worker="celery@a", task_name="proj.add", periodic_task_name="nightly")
    make_task(task_id="ok-b1", status="SUCCESS", worker="celery@b", task_name="proj.mail")
    response = client_viewer.get(f"{URL}?{query}")
    assert response.status_code == 200
    assert set(ids_in(response)) == expected


def test_date_range_filter(client_viewer, make_task):
    now = timezone.now().replace(microsecond=0)
    make_task(task_id="early", date_created=now - timedelta(days=3), date_done=now - timedelta(days=3))
    make_task(task_id="middle", date_created=now - timedelta(days=2), date_done=now - timedelta(days=2))
    make_task(task_id="late", date_created=now, date_done=now)
    after = timezone.localtime(now - timedelta(days=2, hours=1)).strftime("%Y-%m-%dT%H:%M:%S")
    before = timezone.localtime(now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert set(ids_in(client_viewer.get(f"{URL}?date_done_after={after}"))) == {"middle", "late"}
    assert set(ids_in(client_viewer.get(f"{URL}?date_done_before={before}"))) == {"early", "middle"}
    both = client_viewer.get(f"{URL}?date_done_after={after}&date_done_before={before}")
    assert ids_in(both) == ["middle"]


def test_custom_states_are_offered_and_filterable(client_viewer, make_task):
    make_task(task_id="p1", status="PROGRESS")
    make_task(task_id="s1", status="SUCCESS")
    page = client_viewer.get(URL)
    assert b'value="PROGRESS"' in page.content
    assert ids_in(client_viewer.get(URL + "?status=PROGRESS")) == ["p1"]


def status_fieldset(html):
    return re.search(r'<fieldset class="field[^"]*field-status">.*?</fieldset>', html, re.S).group(0)


def test_the_status_filter_is_a_checkbox_per_status_labelled_with_its_badge(client_viewer, make_task):
    make_task(status="PROGRESS")
    html = client_viewer.get(URL + "?status=FAILURE&status=RETRY").content.decode()
    assert re.search(rf'<form id="task-filter" class="filters" method="get" action="{re.escape(URL)}"', html)
    assert not re.search(r"<select[^>]*multiple", html)  # no list box that needs Ctrl-click
    fieldset = status_fieldset(html)
    assert "<legend>Status</legend>" in fieldset  # the group's name, for the eye and for screen readers
    options = re.findall(
        r'<label class="status-choice" for="(id_status_\d+)">'
        r'<input type="checkbox" name="status" value="([^"]+)" id="(id_status_\d+)"( checked)?>\s*(.*?)</label>',
        fieldset,
    )
    assert [value for _, value, _, _, _ in options] == sorted(states.ALL_STATES | {"PROGRESS"})
    for label_for, value, input_id, checked, text in options:
        assert label_for == input_id
        assert text == status_badge(value)  # the badge of the tables
        assert bool(checked) == (value in ("FAILURE", "RETRY"))
    assert 'class="badge badge-other">PROGRESS<' in fieldset  # a custom state: the tables' badge for it


def test_unticked_statuses_filter_nothing_and_an_unknown_one_is_a_form_error(client_viewer, make_task):
    make_task(task_id="ok", status="SUCCESS")
    make_task(task_id="failed", status="FAILURE")
    page = client_viewer.get(URL)
    assert page.status_code == 200 and set(ids_in(page)) == {"ok", "failed"}
    assert " checked" not in status_fieldset(page.content.decode())

    bad = client_viewer.get(URL + "?status=FAILURE&status=NOPE")
    assert bad.status_code == 400 and ids_in(bad) == []
    html = bad.content.decode()
    assert '<fieldset class="field has-error field-status">' in html
    assert "Select a valid choice. NOPE is not one of the available choices." in status_fieldset(html)
    assert re.search(r"<strong>Status</strong>: Select a valid choice\. NOPE", html)  # in the form's error summary


def test_worker_and_task_name_suggestions_come_from_the_table(client_viewer, make_task):
    make_task(worker="celery@host-1", task_name="proj.one")
    make_task(worker="celery@host-2", task_name="proj.two")
    html = client_viewer.get(URL).content.decode()
    assert '<option value="celery@host-1">' in html and '<option value="celery@host-2">' in html
    assert '<option value="proj.two">' in html


def test_facet_lists_are_bounded(client_viewer, make_task, settings):
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 0, "FACET_LIMIT": 2}
    for i in range(4):
        make_task(worker=f"w{i}", task_name=f"proj.t{i}")
    html = client_viewer.get(URL).content.decode()
    assert '<option value="w0">' in html and '<option value="w1">' in html
    assert '<option value="w2">' not in html
    # the search still finds a task name past the offered list
    response = client_viewer.get(URL + "?q=t3")
    assert [row.record.task_name for row in response.context["table"].paginated_rows] == ["proj.t3"]


@pytest.mark.parametrize(
    "sort, key, reverse_",
    [
        ("task_name", lambda t: (t.task_name, t.pk), False),
        ("-task_name", lambda t: (t.task_name, t.pk), True),
        ("worker", lambda t: (t.worker, t.pk), False),
        ("status", lambda t: (t.status, t.pk), False),
        ("date_created", lambda t: (t.date_created, t.pk), False),
        ("-date_done", lambda t: (t.date_done, t.pk), True),
        ("date_done", lambda t: (t.date_done, t.pk), False),
    ],
)
def test_sorting_by_the_indexed_columns(client_viewer, make_task, sort, key, reverse_):
    tasks = [
        make_task(task_name=name, worker=worker, status=status)
        for name, worker, status in [
            ("b", "w2", "SUCCESS"),
            ("a", "w3", "FAILURE"),
            ("c", "w1", "RETRY"),
            ("a", "w1", "SUCCESS"),
        ]
    ]
    response = client_viewer.get(f"{URL}?sort={sort}")
    assert response.status_code == 200
    assert ids_in(response) == [t.task_id for t in sorted(tasks, key=key, reverse=reverse_)]


def test_sort_links_keep_the_filters_and_start_over(client_viewer, make_tasks, settings):
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 0, "PER_PAGE": 2}
    make_tasks(5)
    first = client_viewer.get(URL + "?q=&status=SUCCESS&worker=")
    second = client_viewer.get(pager_link(first, "next"))
    html = second.content.decode()
    assert f'href="{URL}?status=SUCCESS&amp;sort=task_name"' in html
    assert 'rel="next"' in html and 'rel="prev"' in html


def test_an_unknown_sort_column_is_ignored(client_viewer, make_task):
    older, newer = make_task(), make_task()
    response = client_viewer.get(URL + "?sort=result")
    assert response.status_code == 200
    assert ids_in(response) == [newer.task_id, older.task_id]
    assert client_viewer.get(URL + "?sort=-traceback,__class__").status_code == 200


def test_cursor_pages_through_every_row_once(client_viewer, make_tasks, settings):
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 0, "PER_PAGE": 7}
    tasks = make_tasks(30)
    expected = [t.task_id for t in reversed(tasks)]
    seen, url = [], URL
    pages = 0
    while url:
        response = client_viewer.get(url)
        assert response.status_code == 200
        seen += ids_in(response)
        url = pager_link(response, "next")
        pages += 1
    assert seen == expected and pages == 5
    assert 'rel="prev"' in response.content.decode() and 'rel="next"' not in response.content.decode()
    # and back again, with the previous-page cursors
    back, url = [], pager_link(response, "prev")
    while url:
        response = client_viewer.get(url)
        back = ids_in(response) + back
        url = pager_link(response, "prev")
    assert back == expected[: len(back)] and len(back) == 28


def test_cursor_paging_with_equal_dates_uses_the_id(client_viewer, make_task, settings):
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 0, "PER_PAGE": 2}
    when = timezone.now().replace(microsecond=0)
    tasks = [make_task(date_created=when, date_done=when) for _ in range(5)]
    seen, url = [], URL
    while url:
        response = client_viewer.get(url)
        seen += ids_in(response)
        url = pager_link(response, "next")
    assert seen == [t.task_id for t in sorted(tasks, key=lambda t: t.pk, reverse=True)]


def test_oldest_first_also_pages_by_cursor(client_viewer, make_tasks, settings):
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 0, "PER_PAGE": 4}
    tasks = make_tasks(10)
    first = client_viewer.get(URL + "?sort=date_done")
    assert ids_in(first) == [t.task_id for t in tasks[:4]]
    assert "cursor=after." in pager_link(first, "next")
    second = client_viewer.get(pager_link(first, "next"))
    assert ids_in(second) == [t.task_id for t in tasks[4:8]]


def test_other_sorts_page_by_number(client_viewer, make_tasks, settings):
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 0, "PER_PAGE": 4}
    make_tasks(10)
    first = client_viewer.get(URL + "?sort=task_id")
    assert "Page 1" in pager(first)
    third = client_viewer.get(pager_link(first, "next").replace("page=2", "page=3"))
    assert len(ids_in(third)) == 2 and pager_link(third, "next") is None and "Page 3" in pager(third)


@pytest.mark.parametrize(
    "query",
    [
        "status=NOPE",
        "status=<script>alert(1)</script>",
        "date_done_after=yesterday",
        "date_done_after=2026-13-45",
        "date_done_before=9999999999999",
        "date_done_after=2026-01-02T00:00&date_done_before=2026-01-01T00:00",
        "worker=" + "w" * 101,
        "q=" + "x" * 10_000,
        "refresh=7",
    ],
)
def test_bad_filter_values_show_the_form_error_never_a_500(client_viewer, make_task, query):
    make_task()
    response = client_viewer.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert response.context["filterset"].errors
    assert b'class="error"' in response.content
    assert ids_in(response) == []
    partial = client_viewer.get(f"{URL}?{query}", headers=HTMX)
    assert partial.status_code == 400
    assert b'hx-swap-oob="true"' in partial.content and b"not valid" in partial.content


@pytest.mark.parametrize(
    "query",
    [
        "cursor=nonsense", "cursor=after.99999999999999999999999.1", "cursor=after.-5.-5",
        "cursor=before.1.99999999999999999999", "cursor=" + "a" * 10_000,
        "sort=task_name&page=-1", "sort=task_name&page=0", "sort=task_name&page=99999999999999999999",
        "sort=task_name&page=abc", "sort=task_name&page=2000",
    ],
)
def test_bad_paging_input_is_reported_never_a_500(client_viewer, make_task, query):
    make_task()
    response = client_viewer.get(f"{URL}?{query}")
    assert response.status_code == 400
    assert pager_error(response)
    assert ids_in(response) == ids_in(client_viewer.get(URL + ("?sort=task_name" if "sort=" in query else "")))


def test_a_ten_kilobyte_query_string_is_handled(client_viewer, db):
    query = "&".join(f"status=S{i}" for i in range(1200))
    assert len(query) > 10_000
    response = client_viewer.get(f"{URL}?{query}")
    assert response.status_code == 400


def test_everything_is_escaped(client_viewer, make_task):
    evil = "<script>alert('x')</script>"
    make_task(task_id="<b>id</b>", task_name=evil, worker=evil, periodic_task_name=evil, status=evil)
    html = client_viewer.get(URL).content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html
    assert "<b>id</b>" not in html


def test_query_count_does_not_grow_with_rows(client_viewer, make_tasks, django_assert_max_num_queries):
    """4 queries for the session and permissions, 4 facet lists for the form, 1 page of rows, 1 of saved views."""
    make_tasks(60, worker="w1")
    with django_assert_max_num_queries(10):
        response = client_viewer.get(URL + "?status=SUCCESS&worker=w1")
    assert len(ids_in(response)) == 25
    with django_assert_max_num_queries(9):
        client_viewer.get(URL + "?status=SUCCESS&worker=w1&sort=task_name&page=2", headers=HTMX)


def test_facet_lists_are_cached(client_viewer, make_tasks, settings, django_assert_max_num_queries):
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 60}
    make_tasks(30)
    client_viewer.get(URL)
    with django_assert_max_num_queries(6):  # the saved views' menu is one of them
        response = client_viewer.get(URL + "?status=SUCCESS")
    assert len(ids_in(response)) == 25


def test_refresh_interval_makes_the_table_poll_while_visible(client_viewer, db):
    html = client_viewer.get(URL + "?refresh=5").content.decode()
    assert 'hx-trigger="every 5s" data-poll-while-visible' in html
    assert "hx-trigger=\"every" not in client_viewer.get(URL).content.decode()


def test_fragments_and_pages_are_kept_apart_by_caches(client_viewer, db):
    response = client_viewer.get(URL, headers=HTMX)
    assert "HX-Request" in response["Vary"] and "HX-Target" in response["Vary"]


def test_a_history_restore_gets_the_whole_page(client_viewer, db):
    response = client_viewer.get(URL + "?status=FAILURE", headers={**HTMX, "HX-History-Restore-Request": "true"})
    assert b"<html" in response.content


def test_the_table_can_gain_a_selection_column(rf, viewer, make_task):
    """A subclass adds a checkbox column (as operator actions will); rows render it escaped."""
    import django_tables2 as tables

    from dashboard import selectors
    from dashboard.tables import TaskTable

    class SelectableTaskTable(TaskTable):
        select = tables.CheckBoxColumn(accessor="task_id")

        class Meta(TaskTable.Meta):
            sequence = ("select", "...")

    task = make_task(task_id='"><b>x</b>')
    table = SelectableTaskTable(selectors.task_rows())
    table.paginate(per_page=10)
    html = table.render_rows()
    assert 'type="checkbox"' in html and "&quot;&gt;&lt;b&gt;x&lt;/b&gt;" in html
    assert "<b>x</b>" not in html
    assert html.index('type="checkbox"') < html.index(task.task_name)


@pytest.mark.parametrize(
    "query",
    ["date_done_after=0001-01-01T00:00:00", "date_done_before=9999-12-31T23:59:59", "date_done_after=2026-11-25"],
)
def test_extreme_but_valid_dates_are_answered(client_viewer, make_task, query):
    make_task()
    assert client_viewer.get(f"{URL}?{query}").status_code == 200


@pytest.mark.parametrize(
    "query", ["q=%00abc", "worker=a%00b", "task_name=%00", "cursor=after.1.%00", "page=%00", "sort=%00"]
)
def test_nul_characters_are_refused_politely(client_viewer, db, query):
    assert client_viewer.get(f"{URL}?{query}").status_code in (200, 400)

"""The insights pages over HTTP: figures equal the raw rows, windows, live polling, bad input, query counts."""
from collections import Counter
from datetime import timedelta

import pytest
from celery import states
from django.urls import reverse
from django.utils import timezone

from dashboard import report_tables
from dashboard.statistics import rollup
from results.models import TaskResult

pytestmark = pytest.mark.django_db

PAGES = ["dashboard:overview", "dashboard:task-names", "dashboard:workers", "dashboard:periodic"]


def task_at(make_task, ago, **fields):
    done = timezone.now() - ago
    return make_task(date_created=done - timedelta(seconds=3), date_started=done - timedelta(seconds=2),
                     date_done=done, **fields)


def counted():
    """Count every stored result now (the pages would, when their figures are stale)."""
    rollup.catch_up(now=timezone.now() + timedelta(minutes=1))


@pytest.fixture
def recent(make_task):
    """Five tasks finished in the last hour (two failures), one a day and a half ago, one three days ago."""
    for status, name in [(states.SUCCESS, "shop.charge")] * 3 + [(states.FAILURE, "shop.charge"),
                                                                  (states.FAILURE, "mail.send")]:
        task_at(make_task, timedelta(minutes=20), status=status, task_name=name)
    task_at(make_task, timedelta(hours=36), task_name="shop.charge")
    task_at(make_task, timedelta(days=3), task_name="shop.charge")
    counted()


def headline(response, label):
    return next(h for h in response.context["overview"].headlines if h.label == label)


def test_the_overview_headlines_equal_the_raw_rows_of_the_window_and_the_one_before(client_viewer, recent):
    response = client_viewer.get(reverse("dashboard:overview"), {"window": "24h"})
    assert response.status_code == 200
    finished = headline(response, "Tasks finished")
    assert (finished.current, finished.previous) == (5, 1)
    assert headline(response, "Failure rate").current == pytest.approx(2 / 5)
    bars = Counter()
    for point in response.context["overview"].series:
        bars.update(point.counts)
    assert bars == Counter({states.SUCCESS: 3, states.FAILURE: 2})
    week = client_viewer.get(reverse("dashboard:overview"), {"window": "7d"})
    assert headline(week, "Tasks finished").current == 7


def test_the_overview_lists_the_names_failing_most_and_links_their_failures(client_viewer, recent):
    response = client_viewer.get(reverse("dashboard:overview"))
    failing = response.context["overview"].failing
    assert [(row.key, row.failures) for row in failing] == [("mail.send", 1), ("shop.charge", 1)]
    html = response.content.decode()
    assert reverse("dashboard:task-name", args=["mail.send"]) in html
    assert "status=FAILURE&amp;task_name=mail.send" in html
    assert len(response.context["overview"].recent_failures) == 2


def test_a_failure_bar_links_to_the_failures_of_its_bucket(client_viewer, recent):
    response = client_viewer.get(reverse("dashboard:overview"), {"window": "1h"})
    html = response.content.decode()
    links = [part.split('"')[0] for part in html.split('href="')[1:] if "status=FAILURE" in part.split('"')[0]]
    bucket_links = [link for link in links if "date_done_before" in link]
    assert bucket_links, "a failure segment links into the task list"
    listed = client_viewer.get(bucket_links[0].replace("&amp;", "&"))
    assert listed.status_code == 200
    assert [row.record.status for row in listed.context["table"].page.object_list] == [states.FAILURE] * 2


def test_an_unknown_window_is_a_400_with_the_message_over_the_default_window(client_viewer, recent):
    response = client_viewer.get(reverse("dashboard:overview"), {"window": "<b>90d</b>"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "There is no window" in html and "&lt;b&gt;90d&lt;/b&gt;" in html and "<b>90d</b>" not in html
    assert response.context["period"].window.name == "24h"
    huge = client_viewer.get(reverse("dashboard:overview"), {"window": "w" * 10_000 + "\x00"})
    assert huge.status_code == 400 and "w" * 41 not in huge.content.decode()


# The query budgets below are counted for a superuser (pytest-django's
# admin_client): the session and the user are two of the eight. A user who
# holds the view permission through Django's ModelBackend costs two more
# (the user's and the groups' permissions), once per request, on every page.


@pytest.mark.parametrize("name", PAGES)
def test_every_page_reads_at_most_eight_queries_once_its_figures_are_fresh(admin_client, recent, name,
                                                                          django_assert_max_num_queries):
    admin_client.get(reverse(name))
    for window in ("1h", "24h", "30d"):
        with django_assert_max_num_queries(8):
            assert admin_client.get(reverse(name), {"window": window}).status_code == 200


def test_the_task_name_page_reads_at_most_eight_queries(admin_client, recent, django_assert_max_num_queries):
    url = reverse("dashboard:task-name", args=["shop.charge"])
    admin_client.get(url)
    with django_assert_max_num_queries(8):
        response = admin_client.get(url)
    assert response.status_code == 200
    assert response.context["report"].figures.finished == 4
    assert response.context["report"].workers == [("celery@alpha", 6)]


def test_polls_are_answered_304_until_a_new_result_is_counted(client_viewer, recent, make_task):
    url = reverse("dashboard:overview")
    poll = {"HX-Request": "true", "HX-Target": "insights"}
    first = client_viewer.get(url, headers=poll)
    assert first.status_code == 200 and b"<html" not in first.content
    again = client_viewer.get(url, headers={**poll, "If-None-Match": first["ETag"]})
    assert again.status_code == 304
    task_at(make_task, timedelta(minutes=2))
    counted()
    assert client_viewer.get(url, headers={**poll, "If-None-Match": first["ETag"]}).status_code == 200


def test_a_page_counts_new_results_itself_when_no_pass_ran(client_viewer, make_task):
    task_at(make_task, timedelta(minutes=5), status=states.FAILURE)
    response = client_viewer.get(reverse("dashboard:overview"))
    assert headline(response, "Tasks finished").current == 1
    assert "Figures as of" in response.content.decode()


def test_the_task_names_table_has_one_row_per_name_and_sorts_on_its_columns(client_viewer, recent):
    response = client_viewer.get(reverse("dashboard:task-names"), {"window": "24h"})
    rows = {row["name"]: row for row in response.context["table"].data}
    assert {name: (row["runs"], row["failures"]) for name, row in rows.items()} == {
        "shop.charge": (4, 1), "mail.send": (1, 1)
    }
    assert rows["shop.charge"]["runtime_p50"] == pytest.approx(2000, rel=0.05)
    assert rows["mail.send"]["last_failure"] is not None
    by_rate = client_viewer.get(reverse("dashboard:task-names"), {"window": "24h", "sort": "-failure_rate"})
    assert [row.record["name"] for row in by_rate.context["table"].rows] == ["mail.send", "shop.charge"]
    hrefs = [part.split('"')[0] for part in by_rate.content.decode().split('href="')[1:]]
    sort_links = [href for href in hrefs if "sort=" in href]
    assert sort_links and all("window=24h" in link for link in sort_links), "sorting keeps the window"


def test_workers_that_stored_nothing_for_a_while_are_flagged_as_gone_quiet(client_viewer, make_task, settings):
    settings.DASHBOARD = {**getattr(settings, "DASHBOARD", {}), "WORKER_QUIET_AFTER": 600}
    task_at(make_task, timedelta(minutes=30), worker="celery@gone")
    task_at(make_task, timedelta(minutes=1), worker="celery@busy")
    counted()
    response = client_viewer.get(reverse("dashboard:workers"), {"window": "1h"})
    quiet = {row["name"]: row["quiet"] for row in response.context["table"].data}
    assert quiet == {"celery@gone": True, "celery@busy": False}
    assert "gone quiet" in response.content.decode()


def test_a_periodic_task_that_stopped_running_is_late_even_outside_the_window(client_viewer, make_task):
    for minutes in range(90, 125, 5):  # every five minutes, until an hour and a half ago
        task_at(make_task, timedelta(minutes=minutes), periodic_task_name="every-5-min")
    for minutes in (2, 7, 12):
        task_at(make_task, timedelta(minutes=minutes), periodic_task_name="still-running")
    counted()
    response = client_viewer.get(reverse("dashboard:periodic"), {"window": "1h"})
    rows = {row["name"]: row for row in response.context["table"].data}
    assert (rows["every-5-min"]["late"], rows["still-running"]["late"]) == (True, False)
    assert rows["every-5-min"]["interval"] == pytest.approx(300, abs=1)
    assert (rows["every-5-min"]["runs"], rows["still-running"]["runs"]) == (0, 3), "runs in the window only"
    assert [row.record["name"] for row in response.context["table"].rows][0] == "every-5-min", "late ones first"


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", "a/b c?d=e&f", "ünïcode·名前"])
def test_task_names_with_markup_or_url_characters_are_escaped_and_linked(client_viewer, make_task, name):
    task_at(make_task, timedelta(minutes=3), task_name=name, status=states.FAILURE)
    counted()
    for page in ("dashboard:overview", "dashboard:task-names"):
        html = client_viewer.get(reverse(page)).content.decode()
        assert "<script>alert(1)</script>" not in html
    detail = client_viewer.get(reverse("dashboard:task-name", args=[name]))
    assert detail.status_code == 200 and detail.context["report"].figures.finished == 1
    assert "<script>alert(1)</script>" not in detail.content.decode()


@pytest.mark.parametrize("name", ["never.ran", "x" * 10_000, "nul\x00name"])
def test_an_unknown_task_name_is_a_404_with_a_message(client_viewer, recent, name):
    response = client_viewer.get(reverse("dashboard:task-name", args=[name]))
    assert response.status_code == 404


def test_empty_statistics_render_an_empty_state_on_every_page(client_viewer):
    assert not TaskResult.objects.exists()
    for page in PAGES:
        response = client_viewer.get(reverse(page))
        assert response.status_code == 200
    assert "No task finished in this window." in client_viewer.get(reverse("dashboard:task-names")).content.decode()


@pytest.mark.parametrize("per_page", ["-1", "0", str(10**9)])
@pytest.mark.parametrize("page", ["dashboard:task-names", "dashboard:workers", "dashboard:periodic",
                                  "dashboard:failures"])
def test_the_report_tables_show_at_most_their_own_rows_per_page(client_viewer, recent, page, per_page):
    """``?per_page=`` (which django-tables2's RequestConfig reads) may ask for fewer rows, never for none, fewer than
    none (a 500 before) or more."""
    response = client_viewer.get(reverse(page), {"per_page": per_page})
    assert response.status_code == 200
    table = response.context["table"]
    assert isinstance(table, report_tables.ReportTable) and table.paginator.per_page == table._meta.per_page

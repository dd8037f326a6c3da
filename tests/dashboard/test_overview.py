"""The overview: recent failures now, status counts after the page."""
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone


def test_overview_lists_recent_failures_and_loads_counts_after(client_viewer, make_task):
    failed = make_task(status="FAILURE", task_name="shop.fail")
    make_task(status="SUCCESS")
    response = client_viewer.get(reverse("dashboard:overview"))
    assert response.status_code == 200
    html = response.content.decode()
    assert reverse("dashboard:task", args=[failed.task_id]) in html
    counts_url = reverse("dashboard:overview-counts")
    assert f'hx-get="{counts_url}"' in html
    assert response.context["failures"] == [failed]


def test_status_counts_per_window_link_to_filtered_lists(client_viewer, make_task):
    now = timezone.now()
    make_task(status="FAILURE", date_created=now, date_done=now - timedelta(minutes=5))
    make_task(status="SUCCESS", date_created=now, date_done=now - timedelta(minutes=5))
    make_task(status="SUCCESS", date_created=now, date_done=now - timedelta(hours=5))
    make_task(status="SUCCESS", date_created=now, date_done=now - timedelta(days=3))
    response = client_viewer.get(
        reverse("dashboard:overview-counts"), headers={"HX-Request": "true", "HX-Target": "status-counts"}
    )
    assert b"<html" not in response.content
    hour, day = response.context["windows"]
    assert {s: n for s, n, q in hour["rows"]} == {"FAILURE": 1, "SUCCESS": 1}
    assert {s: n for s, n, q in day["rows"]} == {"FAILURE": 1, "SUCCESS": 2}
    assert reverse("dashboard:tasks") + "?status=FAILURE&amp;date_done_after=" in response.content.decode()
    assert b"<html" in client_viewer.get(reverse("dashboard:overview-counts")).content


def test_counts_above_the_limit_are_capped(client_viewer, make_tasks, settings):
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 0, "COUNT_LIMIT": 5}
    make_tasks(8, start=timezone.now() - timedelta(minutes=30))
    response = client_viewer.get(reverse("dashboard:overview-counts"))
    hour = response.context["windows"][0]
    assert hour["capped"] and {s: n for s, n, q in hour["rows"]} == {"SUCCESS": 6}
    assert "5+" in response.content.decode()


def test_task_count_is_exact_when_small_and_bounded_when_large(client_viewer, make_tasks, settings):
    make_tasks(8, worker="w9")
    response = client_viewer.get(
        reverse("dashboard:task-count") + "?worker=w9", headers={"HX-Request": "true", "HX-Target": "result-count"}
    )
    assert response.context["count"].exact == 8 and b"8 tasks" in response.content
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 0, "COUNT_LIMIT": 5}
    response = client_viewer.get(reverse("dashboard:task-count") + "?worker=w9")
    assert response.context["count"].exact is None and response.context["count"].at_least == 5
    assert b"more than 5 tasks" in response.content
    assert client_viewer.get(reverse("dashboard:task-count") + "?status=BOGUS").status_code == 400


def test_unfiltered_count_above_the_limit_is_an_estimate_without_count(client_viewer, make_tasks, settings):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_tasks(12)
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 0, "COUNT_LIMIT": 5}
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE results_taskresult")
    # (MySQL's ANALYZE TABLE would commit the test's transaction: its
    # statistics may lag, and the count then falls back to the bounded count.)
    with CaptureQueriesContext(connection) as queries:
        response = client_viewer.get(reverse("dashboard:task-count"))
    count = response.context["count"]
    assert count.exact is None and count.at_least == 5
    counts = [q["sql"].upper() for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    assert all("LIMIT" in sql for sql in counts)
    if connection.vendor != "mysql":
        assert count.estimate >= 6 and not counts

"""The failures pages over HTTP: one row per cause, states and their order, the group's page, the task list
filtered on a fingerprint, bad input, escaping and query counts."""
from datetime import timedelta
from unittest import mock
from urllib.parse import urlencode

import pytest
from celery import states
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard import exports
from dashboard.models import AuditEntry, Failure, FailureGroup
from results.models import TaskResult

from .pager import pager_link
from .test_exports import csv_ids, exported
from .test_insights import counted, task_at

pytestmark = pytest.mark.django_db


def traceback(exception, message, path="/srv/app/shop/orders.py", function="total"):
    return (
        "Traceback (most recent call last):\n"
        '  File "/venv/lib/python3.11/site-packages/celery/app/trace.py", line 453, in trace_task\n'
        "    R = retval = fun(*args, **kwargs)\n"
        f'  File "{path}", line 12, in {function}\n'
        "    return do()\n"
        f"{exception}: {message}\n"
    )


@pytest.fixture
def failed(make_task):
    """Three causes: one failing for days (ongoing), one new in the last hour, one with HTML in every part."""
    for i in range(3):
        task_at(make_task, timedelta(minutes=10 + i), status=states.FAILURE, task_name="shop.total",
                traceback=traceback("KeyError", f"'sku-{i}'"))
    task_at(make_task, timedelta(days=3), status=states.FAILURE, task_name="shop.total",
            traceback=traceback("KeyError", "'sku-old'"))
    task_at(make_task, timedelta(minutes=5), status=states.FAILURE, task_name="mail.send", worker="celery@b",
            traceback=traceback("ConnectionError", "refused by 10.0.0.7:25", "/srv/app/mail/smtp.py", "deliver"))
    task_at(make_task, timedelta(minutes=7), status=states.FAILURE, task_name="<script>x</script>",
            traceback=traceback("ValueError", "<b>Bad</b> <img src=x onerror=alert(1)>", "/srv/<i>/a.py", "<u>f</u>"))
    task_at(make_task, timedelta(minutes=8), status=states.SUCCESS, task_name="shop.total")
    counted()


def rows_of(response):
    return [(row["group"].exception_type, row["failures"], row["state"]) for row in response.context["table"].data]


def test_one_row_per_cause_new_and_regressed_first_then_the_most_failures(client_viewer, failed):
    response = client_viewer.get(reverse("dashboard:failures"), {"window": "24h"})
    assert response.status_code == 200
    assert sorted(rows_of(response)[:2]) == [("ConnectionError", 1, "new"), ("ValueError", 1, "new")]
    assert rows_of(response)[2:] == [("KeyError", 3, "ongoing")]
    key_error = FailureGroup.objects.get(exception_type="KeyError")
    assert key_error.count == 4 and key_error.message == "<str>" and key_error.where == "shop/orders.py:total"
    FailureGroup.objects.filter(pk=key_error.pk).update(state=FailureGroup.State.REGRESSED)
    again = client_viewer.get(reverse("dashboard:failures"), {"window": "24h"})
    assert [row[2] for row in rows_of(again)] == ["new", "new", "regressed"]


def test_the_list_filters_on_task_name_and_state(client_viewer, failed):
    url = reverse("dashboard:failures")
    assert rows_of(client_viewer.get(url, {"task_name": "mail.send"})) == [("ConnectionError", 1, "new")]
    assert rows_of(client_viewer.get(url, {"state": "ongoing"})) == [("KeyError", 3, "ongoing")]
    assert rows_of(client_viewer.get(url, {"state": "resolved"})) == []
    assert sorted(row[0] for row in rows_of(client_viewer.get(url, {"window": "7d"}))) == [
        "ConnectionError", "KeyError", "ValueError"]


def test_trends_are_read_for_the_page_shown_and_add_up_to_its_failures(client_viewer, make_task, settings):
    for n in range(5):  # five causes, a failure each, and a second for the first two
        for _ in range(2 if n < 2 else 1):
            task_at(make_task, timedelta(minutes=10 + n), status=states.FAILURE, task_name="shop.total",
                    traceback=traceback(f"Error{n}", "x"))
    counted()
    response = client_viewer.get(reverse("dashboard:failures"), {"window": "24h", "per_page": 2, "page": 2})
    table = response.context["table"]
    page_rows = [row.record for row in table.page.object_list]
    assert [row["failures"] for row in page_rows] == [1, 1]  # sorted on the totals: the 2s were on page 1
    assert all(sum(row["trend"]) == row["failures"] for row in page_rows)
    assert all(row["trend"] == [] for row in table.data if row not in page_rows)  # never read


@pytest.mark.parametrize(
    "query",
    [{"state": "<b>gone</b>"}, {"task_name": "n" * 10_000}, {"task_name": "a\x00b"}, {"window": "90d"}],
    ids=["unknown-state", "huge-name", "nul", "unknown-window"],
)
def test_bad_filters_are_a_400_with_the_message_never_a_500(client_viewer, failed, query):
    response = client_viewer.get(reverse("dashboard:failures"), query)
    assert response.status_code == 400
    assert "<b>gone</b>" not in response.content.decode()
    assert response.context["options"].errors


def test_every_part_of_a_cause_is_escaped(client_viewer, failed):
    html = client_viewer.get(reverse("dashboard:failures")).content.decode()
    assert html.count("<svg") >= 3  # a trend per cause
    assert "<script>x</script>" not in html and "<b>Bad</b>" not in html and "<img src=x" not in html
    assert "&lt;b&gt;Bad&lt;/b&gt;" in html
    group = FailureGroup.objects.get(exception_type="ValueError")
    page = client_viewer.get(reverse("dashboard:failure", args=[group.digest])).content.decode()
    assert "<img src=x" not in page and "<u>f</u>" not in page and "&lt;u&gt;f&lt;/u&gt;" in page


def test_a_groups_page_shows_its_sample_traceback_counts_names_and_links_its_tasks(client_viewer, failed):
    group = FailureGroup.objects.get(exception_type="KeyError")
    response = client_viewer.get(reverse("dashboard:failure", args=[group.digest]), {"window": "7d"})
    assert response.status_code == 200
    report = response.context["report"]
    assert report.figures.failed == 4 and report.state == "new"  # first seen three days ago: new in 7 days
    assert [frame.function for frame in response.context["traceback"].project_frames] == ["total"]
    assert response.context["task_names"] == ["shop.total"]
    html = response.content.decode()
    assert f"fingerprint={group.digest}" in html
    listed = client_viewer.get(reverse("dashboard:tasks"), {"fingerprint": group.digest})
    assert listed.status_code == 200
    in_group = Failure.objects.filter(digest=group.digest).values_list("row_id", flat=True)
    assert sorted(row.record.id for row in listed.context["table"].page.object_list) == sorted(in_group)
    assert len(in_group) == 4


@pytest.fixture
def big_group(make_task):
    """Nine failures of one cause on two workers, two of them finished at the same moment; one of another cause."""
    now = timezone.now()
    for i in range(9):
        done = now - timedelta(minutes=10 + 5 * min(i, 7))  # the last two share a date_done
        make_task(task_id=f"sku-{i}", date_created=done - timedelta(seconds=3), date_done=done,
                  status=states.FAILURE, task_name="shop.total", worker=f"celery@{'ab'[i % 2]}",
                  traceback=traceback("KeyError", f"'sku-{i}'"))
    task_at(make_task, timedelta(minutes=12), status=states.FAILURE, task_name="mail.send",
            traceback=traceback("ConnectionError", "refused", "/srv/app/mail/smtp.py", "deliver"))
    counted()
    return FailureGroup.objects.get(exception_type="KeyError").digest


def listed_pages(client, query, rel="next"):
    """The task ids of the list's pages, from the one ``query`` (a dict, or a pager's URL) names on, following
    the pager's ``rel`` links; and the last page's response."""
    url = query if isinstance(query, str) else f"{reverse('dashboard:tasks')}?{urlencode(query)}"
    pages, response = [], client.get(url)
    while True:
        assert response.status_code == 200
        pages.append([row.record.task_id for row in response.context["table"].page.object_list])
        url = pager_link(response, rel)
        if url is None:
            return pages, response
        response = client.get(url)


def in_counted_order(digest, **filters):
    rows = Failure.objects.filter(digest=digest).order_by("-date_done", "-row_id").values_list("row_id", flat=True)
    by_id = dict(TaskResult.objects.filter(**filters).values_list("id", "task_id"))
    return [by_id[row_id] for row_id in rows if row_id in by_id]


def test_the_task_list_pages_through_a_group_by_cursor_each_failure_once(client_viewer, big_group, settings):
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 0, "PER_PAGE": 2}
    expected = in_counted_order(big_group)
    pages, last = listed_pages(client_viewer, {"fingerprint": big_group})
    assert [task for page in pages for task in page] == expected and len(expected) == 9 and len(pages) == 5
    back, _first = listed_pages(client_viewer, pager_link(last, "prev"), rel="prev")
    assert [task for page in reversed(back) for task in page] == expected[:8]
    oldest_first, _ = listed_pages(client_viewer, {"fingerprint": big_group, "sort": "date_done"})
    assert [task for page in oldest_first for task in page] == expected[::-1]
    on_b, _ = listed_pages(client_viewer, {"fingerprint": big_group, "worker": "celery@b"})
    assert [task for page in on_b for task in page] == in_counted_order(big_group, worker="celery@b")


def test_a_failure_stored_again_since_it_was_counted_is_listed_once_at_its_counted_date(
        client_viewer, big_group, settings):
    settings.DASHBOARD = {"FACET_CACHE_SECONDS": 0, "PER_PAGE": 2}
    expected = in_counted_order(big_group)
    TaskResult.objects.filter(task_id="sku-4").update(date_done=timezone.now())  # not counted again yet
    pages, _ = listed_pages(client_viewer, {"fingerprint": big_group})
    assert [task for page in pages for task in page] == expected


def test_a_groups_failures_export_in_the_lists_order(client_viewer, big_group):
    with mock.patch.object(exports, "CHUNK", 2):
        _response, text = exported(client_viewer, format="csv", fingerprint=big_group)
    assert csv_ids(text)[0] == in_counted_order(big_group)


def test_deleting_a_failed_result_leaves_its_group_entry_and_the_list_skips_it(client_viewer, big_group):
    TaskResult.objects.filter(task_id="sku-0").delete()
    assert Failure.objects.filter(digest=big_group).count() == 9  # the statistics keep what was counted
    pages, _ = listed_pages(client_viewer, {"fingerprint": big_group})
    assert "sku-0" not in [task for page in pages for task in page] and len(pages[0]) == 8


def test_a_failed_tasks_page_links_to_its_group(client_viewer, failed):
    group = FailureGroup.objects.get(exception_type="ConnectionError")
    task = TaskResult.objects.get(task_name="mail.send")
    html = client_viewer.get(reverse("dashboard:task", args=[task.task_id])).content.decode()
    assert reverse("dashboard:failure", args=[group.digest]) in html


@pytest.mark.parametrize("digest", ["0123456789abcdef", "nothex", "x" * 500])
def test_an_unknown_fingerprint_is_a_404_and_an_odd_filter_a_message(client_viewer, failed, digest):
    assert client_viewer.get(reverse("dashboard:failure", args=[digest])).status_code == 404
    listed = client_viewer.get(reverse("dashboard:tasks"), {"fingerprint": digest})
    assert listed.status_code in (200, 400)
    if listed.status_code == 200:
        assert list(listed.context["table"].page.object_list) == []


def test_a_fingerprint_holding_a_nul_is_a_404_on_each_of_its_pages(client_operator, failed, edits):
    """PostgreSQL refuses NUL characters in a query: the group is looked for only when the URL can name one."""
    for url in (reverse("dashboard:failure", args=["a\x00b"]), reverse("dashboard:failure-retry", args=["a\x00b"]),
                group_action("a\x00b", "resolve")):
        assert client_operator.get(url).status_code == 404, url


def test_the_failures_pages_are_for_viewers_only(client, stranger, failed):
    group = FailureGroup.objects.first()
    for url in (reverse("dashboard:failures"), reverse("dashboard:failure", args=[group.digest])):
        assert client.get(url).status_code == 302  # to the login page
        client.force_login(stranger)
        assert client.get(url).status_code == 403
        client.logout()


def test_the_failures_pages_read_at_most_eight_queries(admin_client, failed, django_assert_max_num_queries):
    """Eight, and one more for the list's saved views menu."""
    group = FailureGroup.objects.get(exception_type="KeyError")
    for url, most in ((reverse("dashboard:failures"), 9), (reverse("dashboard:failure", args=[group.digest]), 8)):
        admin_client.get(url)
        for window in ("1h", "24h", "30d"):
            with django_assert_max_num_queries(most):
                assert admin_client.get(url, {"window": window}).status_code == 200


# --- resolve, ignore, reopen -------------------------------------------------------


@pytest.fixture
def edits(settings):
    settings.DJANGO_CELERY_RESULTS = {"ALLOW_EDITS": True}


def group_action(digest, action):
    return reverse("dashboard:failure-action", args=[digest, action])


@pytest.mark.parametrize("action", ["resolve", "ignore", "reopen"])
def test_group_actions_are_refused_while_edits_are_off_and_without_the_permission(
    client, admin_user, viewer, failed, action, settings
):
    group = FailureGroup.objects.first()
    client.force_login(admin_user)
    assert client.post(group_action(group.digest, action)).status_code == 403  # ALLOW_EDITS is off
    settings.DJANGO_CELERY_RESULTS = {"ALLOW_EDITS": True}
    client.force_login(viewer)
    assert client.get(group_action(group.digest, action)).status_code == 403
    assert client.post(group_action(group.digest, action)).status_code == 403
    assert FailureGroup.objects.get(pk=group.pk).state == FailureGroup.State.OPEN
    assert AuditEntry.objects.count() == 0


def test_resolve_then_reopen_then_ignore_each_confirmed_and_audited(client_operator, operator, failed, edits):
    group = FailureGroup.objects.get(exception_type="KeyError")
    confirm = client_operator.get(group_action(group.digest, "resolve"))
    assert confirm.status_code == 200 and FailureGroup.objects.get(pk=group.pk).state == "open"  # GET never acts
    page = reverse("dashboard:failure", args=[group.digest])
    assert client_operator.post(group_action(group.digest, "resolve"))["Location"] == page
    group.refresh_from_db()
    assert group.state == "resolved" and group.resolved_at is not None
    listed = client_operator.get(reverse("dashboard:failures"))
    assert ("KeyError", 3, "resolved") in rows_of(listed) and rows_of(listed)[-1][2] == "resolved"
    client_operator.post(group_action(group.digest, "reopen"))
    group.refresh_from_db()
    assert group.state == "open" and group.resolved_at is None
    client_operator.post(group_action(group.digest, "ignore"))
    assert FailureGroup.objects.get(pk=group.pk).state == "ignored"
    entries = list(AuditEntry.objects.order_by("id").values_list("action", "summary", "username"))
    assert [entry[0] for entry in entries] == ["resolve", "reopen", "ignore"]
    assert "open → resolved" in entries[0][1] and group.digest in entries[0][1] and entries[0][2] == operator.username


def test_a_group_action_needs_the_csrf_token(operator, failed, edits):
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    group = FailureGroup.objects.first()
    assert client.post(group_action(group.digest, "resolve")).status_code == 403
    assert FailureGroup.objects.get(pk=group.pk).state == "open"


def test_an_unknown_group_or_action_is_a_404(client_operator, failed, edits):
    group = FailureGroup.objects.first()
    assert client_operator.get(group_action("0" * 16, "resolve")).status_code == 404
    assert client_operator.post(group_action(group.digest, "explode")).status_code == 404


def test_a_cached_failures_page_is_not_modified_until_a_cause_is_decided(client_operator, failed, edits):
    group = FailureGroup.objects.first()
    etags = {}
    for url in (reverse("dashboard:failures"), reverse("dashboard:failure", args=[group.digest])):
        etags[url] = client_operator.get(url)["ETag"]
        assert client_operator.get(url, headers={"If-None-Match": etags[url]}).status_code == 304
    client_operator.post(group_action(group.digest, "ignore"))
    for url, etag in etags.items():
        assert client_operator.get(url, headers={"If-None-Match": etag}).status_code == 200


def test_a_causes_task_names_link_as_reverse_does_the_first_five_shown(client_viewer, make_task):
    names = ["a/b c?d#e", "ü&<x>", "plain", "p4", "p5", "p6", "p7"]
    for name in names:
        task_at(make_task, timedelta(minutes=3), status=states.FAILURE, task_name=name,
                traceback=traceback("KeyError", "'x'"))
    counted()
    html = client_viewer.get(reverse("dashboard:failures")).content.decode()
    shown = sorted(names)[:5]
    for name in shown:
        assert f'href="{reverse("dashboard:task-name", args=[name])}"' in html
    assert reverse("dashboard:task-name", args=[sorted(names)[5]]) not in html and "and 2 more" in html

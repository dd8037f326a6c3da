"""``dashboard.querystrings.task_list_url``: the insights' links into the task list."""
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

from django.urls import reverse

from dashboard.querystrings import BucketLinks, task_list_url


def test_a_bucket_becomes_an_inclusive_range_ending_just_before_its_end_in_local_time(settings):
    settings.TIME_ZONE = "Europe/Paris"
    url = task_list_url(datetime(2026, 1, 5, 9, 15, tzinfo=UTC), datetime(2026, 1, 5, 9, 30, tzinfo=UTC),
                        status="FAILURE", task_name="a&b c", worker="")
    parts = urlsplit(url)
    assert parts.path == reverse("dashboard:tasks")
    assert parse_qs(parts.query) == {
        "status": ["FAILURE"], "task_name": ["a&b c"],
        "date_done_after": ["2026-01-05T10:15:00"], "date_done_before": ["2026-01-05T10:29:59.999999"],
    }


def test_without_filters_it_is_the_plain_list():
    assert task_list_url() == reverse("dashboard:tasks")


def test_a_charts_links_are_the_task_list_urls_of_their_buckets(settings):
    settings.TIME_ZONE = "America/St_Johns"  # a zone half an hour off
    start = datetime(2026, 3, 8, 5, 45, 0, tzinfo=UTC)
    end = datetime(2026, 3, 8, 6, 0, 0, 250, tzinfo=UTC)
    links = BucketLinks(task_name="a&b c/ü", worker="").links(start, end, ["FAILURE", "custom state", ""])
    assert links == {
        "FAILURE": task_list_url(start, end, status="FAILURE", task_name="a&b c/ü"),
        "custom state": task_list_url(start, end, status="custom state", task_name="a&b c/ü"),
        "": task_list_url(start, end, task_name="a&b c/ü"),
    }

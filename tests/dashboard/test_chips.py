"""The active filters' chips (``dashboard.chips``): one per value in the URL, each linking to the list without it."""
from urllib.parse import parse_qs, urlsplit

import pytest
from django.http import QueryDict
from django.urls import reverse

from dashboard.chips import filter_chips
from dashboard.filters import TaskFilter
from results.models import TaskResult


def chips_of(query):
    querydict = QueryDict(query)
    return filter_chips(TaskFilter(querydict, queryset=TaskResult.objects.none()).form, querydict)


@pytest.mark.django_db
def test_a_chip_per_value_in_field_order_and_none_for_refresh_sort_or_page():
    chips = chips_of("worker=web-3&status=FAILURE&status=RETRY&refresh=5&sort=-date_done&page=3&cursor=abc&q=")
    assert [(chip.label, chip.value) for chip in chips] == [
        ("Status", "FAILURE"), ("Status", "RETRY"), ("Worker", "web-3"),
    ]


@pytest.mark.django_db
def test_removing_a_chip_keeps_the_other_values_and_the_sort_and_goes_back_to_the_first_page():
    failure, retry, worker = chips_of("status=FAILURE&status=RETRY&worker=web-3&sort=-date_done&page=3&refresh=5")
    assert parse_qs(failure.remove_query[1:]) == {"status": ["RETRY"], "worker": ["web-3"], "sort": ["-date_done"],
                                                  "refresh": ["5"]}
    assert parse_qs(worker.remove_query[1:]) == {"status": ["FAILURE", "RETRY"], "sort": ["-date_done"],
                                                 "refresh": ["5"]}


@pytest.mark.django_db
def test_the_last_chip_removed_leaves_no_query_and_a_range_has_a_chip_per_end():
    after, before = chips_of("date_done_after=2026-12-03T08:00:00&date_done_before=2026-12-03T09:00:00")
    assert (after.label, after.value) == ("Done after", "2026-12-03 08:00:00")
    assert (before.label, before.value) == ("Done before", "2026-12-03 09:00:00")
    assert after.remove_query == "?date_done_before=2026-12-03T09%3A00%3A00"
    (only,) = chips_of("worker=web-3")
    assert only.remove_query == ""


@pytest.mark.django_db
def test_an_invalid_value_gets_a_chip_too_so_it_can_be_removed():
    (chip,) = chips_of("status=NOT-A-STATE")
    assert (chip.label, chip.value, chip.remove_query) == ("Status", "NOT-A-STATE", "")


def test_the_task_list_shows_its_chips_with_links_that_remove_them(admin_client):
    response = admin_client.get(reverse("dashboard:tasks"), {"status": ["FAILURE"], "worker": "web-3"})
    html = response.content.decode()
    assert 'aria-label="Active filters"' in html
    assert 'aria-label="Remove filter Worker: web-3"' in html
    assert f'href="{reverse("dashboard:tasks")}?status=FAILURE"' in html
    assert "Clear all" in html
    htmx = admin_client.get(reverse("dashboard:tasks"), {"worker": "web-3"}, headers={"HX-Request": "true"})
    assert 'aria-label="Remove filter Worker: web-3"' in htmx.content.decode()  # the swapped part carries them
    assert "Active filters" not in admin_client.get(reverse("dashboard:tasks")).content.decode()


def test_the_failures_and_group_lists_show_chips(admin_client):
    failures = admin_client.get(reverse("dashboard:failures"), {"task_name": "shop.pay", "window": "7d"})
    assert 'aria-label="Remove filter' in failures.content.decode()
    assert "Remove filter Window" not in failures.content.decode()
    groups = admin_client.get(reverse("dashboard:groups"), {"q": "abc"})
    href = urlsplit(reverse("dashboard:groups")).path
    assert f'href="{href}" class="chip-remove"' in groups.content.decode()

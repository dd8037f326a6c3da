"""``dashboard.filters``: the lists' FilterSets parse and validate the query string, then narrow the selectors' rows."""
import re
from datetime import timedelta

import pytest
from django.http import QueryDict
from django.utils import timezone

from dashboard import selectors
from dashboard.filters import GroupFilter, TaskFilter
from results.counting import is_unfiltered


def task_filter(query):
    return TaskFilter(QueryDict(query), queryset=selectors.task_rows())


def local(moment):
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M:%S")


@pytest.fixture
def three_days(make_task):
    now = timezone.now().replace(microsecond=0)
    tasks = {
        name: make_task(task_id=name, date_created=now - timedelta(days=days), date_done=now - timedelta(days=days))
        for name, days in (("early", 3), ("middle", 2), ("late", 0))
    }
    return now, tasks


def ids(filterset):
    assert filterset.is_valid(), filterset.errors
    return {task.task_id for task in filterset.qs}


def test_the_date_range_reads_after_and_before_both_ends_included(three_days):
    now, tasks = three_days
    middle = local(tasks["middle"].date_done)
    assert ids(task_filter(f"date_done_after={middle}")) == {"middle", "late"}
    assert ids(task_filter(f"date_done_before={middle}")) == {"early", "middle"}
    assert ids(task_filter(f"date_done_after={middle}&date_done_before={middle}")) == {"middle"}
    assert ids(task_filter("")) == {"early", "middle", "late"}


def test_empty_filters_leave_the_rows_unfiltered(three_days):
    """What lets an unfiltered list's count be the table's estimate (``results.counting.bounded_count``)."""
    now, _ = three_days
    assert not is_unfiltered(task_filter(f"date_done_after={local(now)}").qs)
    for query in ("", "date_done_after=&date_done_before=", "q=&status=&worker=&task_name=&refresh=5", "q=%20"):
        assert is_unfiltered(task_filter(query).qs), query


@pytest.mark.parametrize(
    "query, message",
    [
        ("date_done_after=2026-01-02T00:00&date_done_before=2026-01-01T00:00", "must not be earlier than"),
        ("date_done_after=yesterday", "Enter a valid date/time."),
        ("date_done_before=2026-13-45", "Enter a valid date/time."),
    ],
)
def test_a_reversed_or_malformed_range_is_the_range_fields_error(db, query, message):
    for filterset in (task_filter(query), GroupFilter(QueryDict(query), queryset=selectors.group_rows())):
        assert not filterset.is_valid()
        assert list(filterset.errors) == ["date_done"]
        assert message in " ".join(filterset.errors["date_done"])


def test_the_range_renders_as_two_labelled_datetime_inputs_in_a_fieldset(db):
    html = str(task_filter("date_done_after=2026-01-01T10:00").form["date_done"].as_field_group())
    assert re.search(r'<fieldset class="field field-date_done">\s*<legend>Done</legend>', html)
    for suffix, label, value in (("after", "after", ' value="2026-01-01T10:00"'), ("before", "before", "")):
        labelled = rf'<label for="([^"]+)">{label}</label><input type="datetime-local" name="date_done_{suffix}"'
        field_id = re.search(labelled, html)
        assert field_id, html
        assert re.search(rf'name="date_done_{suffix}"{value} step="1" id="{field_id.group(1)}"', html), html


def test_groups_filter_by_id_prefix_and_date_range(make_group):
    make_group(group_id="alpha-1")
    make_group(group_id="beta-1")
    groups = GroupFilter(QueryDict("q=alp"), queryset=selectors.group_rows())
    assert groups.is_valid() and [g.group_id for g in groups.qs] == ["alpha-1"]


@pytest.mark.parametrize(
    "query, valid",
    [("status=FAILURE&status=RETRY", True), ("status=NOPE", False), ("worker=" + "w" * 101, False),
     ("q=" + "x" * 256, False), ("refresh=5", True), ("refresh=7", False)],
)
def test_values_the_columns_cannot_hold_are_refused(db, query, valid):
    assert task_filter(query).is_valid() is valid


def test_refresh_is_in_the_form_after_the_filters_and_filters_nothing(make_task):
    make_task(task_id="one")
    filterset = task_filter("refresh=5")
    assert list(filterset.form.fields)[-2:] == ["date_done", "refresh"]
    assert ids(filterset) == {"one"} and is_unfiltered(filterset.qs)

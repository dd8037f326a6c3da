"""The insights pages' tables: ``{% report_rows %}`` writes what django-tables2's own template writes."""
import re
from datetime import UTC, datetime

import pytest
from django.template.loader import render_to_string
from django.test import RequestFactory
from django_tables2 import RequestConfig

from dashboard import report_charts, report_tables

WHEN = datetime(2026, 12, 1, 10, 30, tzinfo=UTC)


def task_name_row(name, runs, **figures):
    return {
        "name": name, "runs": runs, "failures": figures.get("failures", 0), "failure_rate": figures.get("rate"),
        "runtime_p50": figures.get("p50"), "runtime_p95": None, "runtime_p99": None, "wait_p95": 12.5,
        "last_run": figures.get("last_run"), "last_failure": None,
        "trend": report_charts.trend(figures.get("trend", []), f"{name}: tasks finished"),
    }


def bodies(table_class, rows, query=""):
    """The ``<tbody>`` of ``rows`` in the report template and in django-tables2's, whitespace between tags dropped."""
    written = []
    for template in ("dashboard/insights/report_table.html", "django_tables2/table.html"):
        request = RequestFactory().get(f"/{query}")
        table = table_class(rows, template_name=template)
        RequestConfig(request).configure(table)
        html = render_to_string(template, {"table": table, "request": request})
        body = re.search(r"<tbody[^>]*>(.*)</tbody>", html, re.S).group(1)
        body = re.sub(r"chart-\d+", "chart-N", body)  # each rendering numbers its charts anew
        written.append(re.sub(r">\s+<", "><", body.strip()))
    return written


@pytest.mark.parametrize("query", ["", "?sort=name", "?sort=-failure_rate"])
def test_task_name_rows_are_written_as_the_library_writes_them(query):
    rows = [
        task_name_row("shop.charge", 1234, failures=3, rate=0.0024, p50=81.0, last_run=WHEN, trend=[1, 4, 2]),
        task_name_row('<script>alert("x")</script>&', 2, rate=None),
        task_name_row("mail.send", 0),
    ]
    ours, theirs = bodies(report_tables.TaskNameTable, rows, query)
    assert ours == theirs
    assert "&lt;script&gt;" in ours and "<script>" not in ours and "1,234" in ours


def test_worker_rows_keep_their_row_class():
    rows = [{"name": "celery@a", "runs": 5, "failure_rate": 0.2, "runtime_p95": 3.5, "last_seen": WHEN,
             "quiet": True, "quiet_title": "quiet", "trend": report_charts.trend([5], "celery@a")},
            {"name": "celery@b", "runs": 1, "failure_rate": None, "runtime_p95": None, "last_seen": None,
             "quiet": False, "quiet_title": "quiet", "trend": report_charts.trend([], "celery@b")}]
    ours, theirs = bodies(report_tables.WorkerTable, rows)
    assert ours == theirs and 'class="status-bad' in ours


def test_an_empty_table_shows_its_empty_text():
    ours, theirs = bodies(report_tables.PeriodicTable, [])
    assert ours == theirs and "No periodic task has run yet" in ours


@pytest.mark.parametrize("query", ["", "?sort=runs", "?sort=-runs", "?sort=failure_rate", "?sort=-failure_rate",
                                   "?sort=-last_run", "?sort=last_run", "?sort=name", "?sort=-runtime_p50"])
def test_report_records_sort_as_django_tables2s_own_list_data_does(query):
    """The same order as the library's comparator sort, ``None`` (no figure) as the smallest value, ties kept."""
    rows = [
        task_name_row(f"task.{i}", runs, failures=i % 3, rate=rate, p50=p50, last_run=last_run)
        for i, (runs, rate, p50, last_run) in enumerate([
            (10, 0.5, 81.0, WHEN), (10, None, None, None), (3, 0.5, 2.0, WHEN), (0, None, 81.0, None),
            (10, 0.25, None, WHEN.replace(hour=9)), (7, 0.0, 0.5, WHEN.replace(hour=11)), (3, 0.5, 2.0, None),
        ])
    ]
    request = RequestFactory().get(f"/{query}")
    ours = report_tables.TaskNameTable(rows)
    RequestConfig(request).configure(ours)

    class LibraryTable(report_tables.TaskNameTable):
        class Meta(report_tables.TaskNameTable.Meta):
            pass

        def __init__(self, data, *args, **kwargs):
            super(report_tables.ReportTable, self).__init__(data, *args, **kwargs)  # the library's own list data

    theirs = LibraryTable(rows)
    RequestConfig(request).configure(theirs)
    assert type(theirs.data) is not type(ours.data)
    assert [row.record["name"] for row in ours.rows] == [row.record["name"] for row in theirs.rows]

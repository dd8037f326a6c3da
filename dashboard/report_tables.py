"""The insights pages' tables (django-tables2): one row per task name, worker or periodic task.

Their rows are the reports' figures as dicts (a few hundred at most, from
the statistics tables), so django-tables2 sorts them in Python on every
column; an unknown figure (no runtime recorded) sorts as the smallest.
Cells go through ``format_html`` or the template's escaping: names are
user data.
"""
from functools import cached_property
from urllib.parse import quote

import django_tables2 as tables
from django.core.paginator import Paginator
from django.urls import reverse
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django_tables2.data import TableListData
from django_tables2.utils import Accessor, OrderBy

from . import formatting, report_charts
from .querystrings import task_list_url
from .templatetags.dashboard_charts import chart

#: What ``reverse()`` leaves unquoted in a path argument (RFC 3986's sub-delimiters, and ``/~:@``).
PATH_SAFE = "!$&'()*+,;=/~:@"


class ReportColumn(tables.Column):
    """A column of a report table: ``cell(value, record)`` writes a cell's content, escaped.

    The report tables' records are dicts keyed by column name, so
    ``{% report_rows %}`` reads each value by its name and calls ``cell``
    once per row, without the library's per-cell introspection of
    ``render``; ``render`` is ``cell`` for django-tables2's own template.
    """

    def cell(self, value, record) -> str:
        return conditional_escape(value)

    def render(self, value, record):
        return self.cell(value, record)


class FigureColumn(ReportColumn):
    """A number, right-aligned; an unknown one as a dash."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("attrs", {"td": {"class": "number"}, "th": {"class": "number"}})
        kwargs.setdefault("initial_sort_descending", True)
        kwargs.setdefault("default", "—")
        super().__init__(*args, **kwargs)

    def cell(self, value, record):
        return f"{value:,}"


class MillisecondsColumn(FigureColumn):
    def cell(self, value, record):
        return formatting.milliseconds(value)


class IntervalColumn(FigureColumn):
    """Seconds, read as a duration."""

    def cell(self, value, record):
        return formatting.milliseconds(value * 1000)


class RateColumn(FigureColumn):
    def cell(self, value, record):
        return formatting.percent(value)


class WhenColumn(ReportColumn):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial_sort_descending", True)
        kwargs.setdefault("default", formatting.NO_DATE)
        super().__init__(*args, **kwargs)

    def cell(self, value, record):
        return formatting.datetime_cell(value)


class StateColumn(ReportColumn):
    def cell(self, value, record):
        return formatting.status_badge(value)


class TrendColumn(ReportColumn):
    """The key's tasks finished per step of the window, as a sparkline.

    Rendered by the ``{% chart %}`` tag's function itself: a template column
    would compile its template again for every cell.
    """

    empty_values = ()

    def __init__(self, **kwargs):
        super().__init__(verbose_name=_("Trend"), orderable=False, **kwargs)

    def cell(self, value, record):
        return chart(value)


class TaskNameColumn(ReportColumn):
    """A task name, linking to its page and to the task list filtered on it."""

    def cell(self, value, record):
        return format_html(
            '<a href="{}">{}</a> <a class="muted" href="{}" title="{}">tasks</a>',
            reverse("dashboard:task-name", args=[value]), value, task_list_url(task_name=value),
            _("The task list filtered on this task name"),
        )


class WorkerColumn(ReportColumn):
    """A worker, linking to its tasks; flagged when it has gone quiet."""

    def cell(self, value, record):
        quiet = format_html(' <span class="badge badge-bad" title="{}">gone quiet</span>', record["quiet_title"])
        return format_html(
            '<a href="{}">{}</a>{}', task_list_url(worker=value), value, quiet if record["quiet"] else ""
        )


class PeriodicNameColumn(ReportColumn):
    def cell(self, value, record):
        return format_html('<a href="{}">{}</a>', task_list_url(periodic_task_name=value), value)


class LateColumn(ReportColumn):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("initial_sort_descending", True)
        super().__init__(*args, **kwargs)

    def cell(self, value, record):
        if not value:
            return format_html('<span class="muted">{}</span>', _("on time"))
        return format_html('<span class="badge badge-bad" title="{}">late</span>', record["late_title"])


class FailureCauseColumn(ReportColumn):
    """A group's exception, its normalised message and where it was raised, linking to the group's page."""

    def cell(self, value, record):
        group = record["group"]
        if group is None:  # deleted since the list was read
            return format_html("<code>{}</code>", record["cause"])
        where = format_html(' <span class="muted">in {}</span>', group.where) if group.where else ""
        return format_html(
            '<a href="{}{}/"><code>{}</code></a>{}<br><span class="failure-message">{}</span>',
            self.link_prefix, group.digest, group.exception_type or _("(no exception type)"),
            where, group.message or _("(no message)"),
        )

    @cached_property
    def link_prefix(self) -> str:
        """A group's page's URL up to its digest (hexadecimal, nothing to quote), worked out once per table."""
        return reverse("dashboard:failure", args=["-"])[: -len("-/")]


class TaskNamesColumn(ReportColumn):
    """The first ``SHOWN`` task names a group's failures came from, each linking to its page, and how many more.

    The links are the task-name page's URL with the name quoted as
    ``reverse()`` quotes it, worked out once per table: a page of a hundred
    causes of twenty names each would otherwise reverse two thousand URLs.
    """

    SHOWN = 5

    def __init__(self, *args, **kwargs):
        super().__init__(*args, orderable=False, **kwargs)

    def cell(self, value, record):
        shown = value[: self.SHOWN]
        links = format_html_join(
            ", ", '<a href="{}{}/">{}</a>', ((self.link_prefix, quote(n, safe=PATH_SAFE), n) for n in shown)
        )
        more = len(value) - self.SHOWN
        return format_html("{} <span class=\"muted\">and {} more</span>", links, more) if more > 0 else links

    @cached_property
    def link_prefix(self) -> str:
        """The task-name page's URL up to the name, worked out once per table (each table has its own columns)."""
        return reverse("dashboard:task-name", args=["-"])[: -len("-/")]


class LazyTrendColumn(TrendColumn):
    """A trend drawn for the rows of the page shown only, from counts read for those rows only (``show_failure_rows``).

    A window may hold a thousand causes; a page shows twenty-five.
    """

    def cell(self, value, record):
        return chart(report_charts.trend(value, record["trend_title"]))


class FailureStateColumn(ReportColumn):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, orderable=False, **kwargs)

    def cell(self, value, record):
        return formatting.failure_state_badge(value)


class ReportRecords(TableListData):
    """A report table's records (dicts keyed by column name), sorted with one key per column rather than compared.

    django-tables2's list data sorts through a comparator object that
    resolves each column's accessor on both records at every comparison,
    even for no column at all: on the failures page's thousand causes,
    14 ms of a page view kept in the report's own order. Here each sort
    column is one stable ``list.sort`` on its values (the least
    significant first), ``None`` as the smallest value, as there; no sort
    column leaves the records as they came.
    """

    def order_by(self, aliases):
        keys = []
        for alias in aliases:
            column = self.table.columns[OrderBy(alias).bare]
            # as django-tables2 does: a column's own order, or its opposite when the alias asks for the other way
            keys += column.order_by if alias[0] == column.order_by_alias[0] else column.order_by.opposite
        for key in reversed(keys):
            accessor = Accessor(key.bare)
            self.data.sort(key=lambda record: _sort_value(accessor.resolve(record, quiet=True)),
                           reverse=key.is_descending)


def _sort_value(value):
    return (value is not None, value)


class ReportTable(tables.Table):
    def __init__(self, data, *args, **kwargs):
        super().__init__(ReportRecords(list(data)), *args, **kwargs)

    class Meta:
        template_name = "dashboard/insights/report_table.html"
        attrs = {"class": "results-table report-table"}
        order_by = ("-runs",)
        per_page = 100

    def paginate(self, paginator_class=Paginator, per_page=None, page=1, *args, **kwargs):
        """Pages of at most ``Meta.per_page`` rows; the URL's ``?per_page=`` (``RequestConfig`` passes it on) may
        ask for fewer.

        Zero or a negative number broke the paginator (a 500), a huge one
        would render every row at once: either gets ``Meta.per_page``.
        """
        most = self._meta.per_page
        per_page = per_page if isinstance(per_page, int) and 0 < per_page <= most else most
        return super().paginate(paginator_class, per_page, page, *args, **kwargs)


class TaskNameTable(ReportTable):
    name = TaskNameColumn(verbose_name=_("Task name"))
    runs = FigureColumn(verbose_name=_("Runs"))
    failures = FigureColumn(verbose_name=_("Failures"))
    failure_rate = RateColumn(verbose_name=_("Failure rate"))
    runtime_p50 = MillisecondsColumn(verbose_name=_("Runtime p50"))
    runtime_p95 = MillisecondsColumn(verbose_name=_("p95"))
    runtime_p99 = MillisecondsColumn(verbose_name=_("p99"))
    wait_p95 = MillisecondsColumn(verbose_name=_("Queue wait p95"))
    last_run = WhenColumn(verbose_name=_("Last run"))
    last_failure = WhenColumn(verbose_name=_("Last failure"))
    trend = TrendColumn()

    class Meta(ReportTable.Meta):
        empty_text = _("No task finished in this window.")


class WorkerTable(ReportTable):
    name = WorkerColumn(verbose_name=_("Worker"))
    runs = FigureColumn(verbose_name=_("Tasks finished"))
    failure_rate = RateColumn(verbose_name=_("Failure rate"))
    runtime_p95 = MillisecondsColumn(verbose_name=_("Runtime p95"))
    last_seen = WhenColumn(verbose_name=_("Last result stored"))
    trend = TrendColumn()

    class Meta(ReportTable.Meta):
        empty_text = _("No worker stored a result in this window.")
        row_attrs = {"class": lambda record: "status-bad" if record["quiet"] else ""}


class PeriodicTable(ReportTable):
    name = PeriodicNameColumn(verbose_name=_("Periodic task"))
    last_run = WhenColumn(verbose_name=_("Last run"))
    last_status = StateColumn(verbose_name=_("Its state"))
    runs = FigureColumn(verbose_name=_("Runs in window"))
    failure_rate = RateColumn(verbose_name=_("Failure rate"))
    interval = IntervalColumn(verbose_name=_("Usual interval"))
    late = LateColumn(verbose_name=_("Late"))

    class Meta(ReportTable.Meta):
        order_by = ("-late", "name")
        empty_text = _("No periodic task has run yet (results carry a periodic task name when Celery beat sent them).")
        row_attrs = {"class": lambda record: "status-bad" if record["late"] else ""}


class FailureGroupTable(ReportTable):
    """One row per failure group with failures in the window, as ``reports.failure_groups`` orders them."""

    cause = FailureCauseColumn(verbose_name=_("Cause"), orderable=False)
    state = FailureStateColumn(verbose_name=_("State"))
    task_names = TaskNamesColumn(verbose_name=_("Task names"))
    failures = FigureColumn(verbose_name=_("Failures"))
    first_seen = WhenColumn(verbose_name=_("First seen"))
    last_seen = WhenColumn(verbose_name=_("Last seen"))
    trend = LazyTrendColumn()

    class Meta(ReportTable.Meta):
        order_by = ()  # new and regressed first, then the most failures: the report's order
        per_page = 25  # causes to triage, new and regressed first: a page an operator reads through (as Sentry's)
        empty_text = _("No task failed in this window.")
        row_attrs = {"class": lambda record: "status-bad" if record["state"] in ("new", "regressed") else ""}


def failure_rows(report_rows) -> list[dict]:
    """The records of ``reports.failure_groups``'s rows; ``show_failure_rows`` completes those of the page shown."""
    return [
        {"cause": row.digest, "state": row.state, "failures": row.failures, "first_seen": row.first_seen,
         "last_seen": row.last_seen, "group": None, "task_names": [], "trend": [], "trend_title": ""}
        for row in report_rows
    ]


def show_failure_rows(records, groups, trends, window_name: str):
    """Give the page's ``records`` what their cells draw: the group, its task names and its trend."""
    for record in records:
        group = groups.get(record["cause"])
        record["group"] = group
        # sorted on whole seconds (``reports.FailureRow``), shown as the dates they are (none: deleted since)
        record["first_seen"], record["last_seen"] = (group.first_seen, group.last_seen) if group else (None, None)
        record["task_names"] = group.task_name_list if group else []
        record["trend"] = trends.get(record["cause"], [])
        record["trend_title"] = f"{group.exception_type if group else record['cause']}: failures, {window_name}"


def task_name_rows(report_rows, window_name: str) -> list[dict]:
    return [
        {
            "name": row.key, "runs": row.runs, "failures": row.failures, "failure_rate": row.failure_rate,
            "runtime_p50": row.runtime(0.5), "runtime_p95": row.runtime(0.95), "runtime_p99": row.runtime(0.99),
            "wait_p95": row.wait(0.95),
            "last_run": row.latest.last_done if row.latest else None,
            "last_failure": row.latest.last_failure if row.latest else None,
            "trend": report_charts.trend(row.trend, f"{row.key}: tasks finished, {window_name}"),
        }
        for row in report_rows
    ]


def worker_rows(report_rows, window_name: str, quiet_after: str) -> list[dict]:
    quiet_title = _("Stored results in this window, then none for more than %(after)s") % {"after": quiet_after}
    return [
        {
            "name": row.figures.key, "runs": row.figures.runs, "failure_rate": row.figures.failure_rate,
            "runtime_p95": row.figures.runtime(0.95),
            "last_seen": row.figures.latest.last_done if row.figures.latest else None,
            "quiet": row.quiet,
            "quiet_title": quiet_title,
            "trend": report_charts.trend(row.figures.trend, f"{row.figures.key}: tasks finished, {window_name}"),
        }
        for row in report_rows
    ]


def periodic_rows(report_rows) -> list[dict]:
    rows = []
    for row in report_rows:
        interval = formatting.milliseconds(row.interval * 1000) if row.interval is not None else "—"
        rows.append({
            "name": row.name, "last_run": row.latest.last_done, "last_status": row.latest.last_status,
            "runs": row.figures.finished, "failure_rate": row.figures.failure_rate, "interval": row.interval,
            "late": row.late,
            "late_title": _("Its last run is more than twice its usual interval (%(interval)s) ago") % {
                "interval": interval},
        })
    return rows

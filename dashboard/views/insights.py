"""The insights pages: the overview, task names, a task name, workers, periodic tasks.

Each reads the statistics store (``dashboard.reports``), never aggregates
the results table, and is a link: the window (``?window=7d``) and the
live refresh are query parameters. The figures part of each page polls
itself (htmx, while the tab is visible; ``?refresh=0`` pauses it) and is
answered ``304 Not Modified`` while the figures have not moved: the
ETag is made of the statistics' watermark, the chart's current bucket and
the minute (the freshness line reads in seconds but is refreshed at least
every minute).

A page whose figures are stale runs a bounded catch-up first
(``statistics.freshness``), so the figures follow the results with no beat.
An unknown window is answered 400 with the message, over the default
window's figures.
"""
from collections import Counter
from datetime import timedelta

from django.db.models import Max
from django.http import Http404
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import condition
from django_tables2 import RequestConfig

from .. import formatting, report_charts, report_tables, reports, saved_views, tracebacks
from ..conf import dashboard_setting
from ..forms import FailureOptionsForm, InsightsOptionsForm
from ..selectors import failure_group
from ..statistics import freshness, histogram
from ..statistics.buckets import DEFAULT_WINDOW, window_span
from ..statistics.models import Dimension, FailureGroup
from .base import DashboardView, live_etag
from .saved_views import SavedViewsMenuMixin


def options_of(request, form_class=InsightsOptionsForm) -> InsightsOptionsForm:
    data = request.GET.copy()
    # Unset means the defaults: the selects show them.
    data.setdefault("window", DEFAULT_WINDOW)
    data.setdefault("refresh", str(dashboard_setting("INSIGHTS_REFRESH")))
    return form_class(data)


def figures_etag(request, *parts) -> str:
    """The statistics' version and the window's current bar (a new bar starts a new chart), and ``parts``."""
    fresh = freshness.ensure_fresh()
    request.freshness = fresh
    window = options_of(request).chosen_window()
    return live_etag(request, fresh.version, fresh.caught_up, window_span(window, timezone.now()).end, *parts)


class InsightsView(DashboardView):
    """Window form, freshness line, live polling; subclasses add their report with ``report(period)``."""

    partial_target = "insights"
    template_name = "dashboard/insights/page.html"
    page_title = ""
    options_class = InsightsOptionsForm

    def get(self, request, *args, **kwargs):
        """The page, or ``304 Not Modified`` while its ``etag`` is the one the browser holds."""
        return condition(etag_func=self.etag)(self.render_page)(request, *args, **kwargs)

    def etag(self, request, *args, **kwargs) -> str:
        return figures_etag(request)

    def render_page(self, request, *args, **kwargs):
        options = options_of(request, self.options_class)
        self.options = options
        period = reports.Period.of(options.chosen_window())
        fresh = getattr(request, "freshness", None) or freshness.ensure_fresh()
        context = self.get_context_data(
            page_title=self.page_title,
            options=options,
            poll_url=self.poll_url(period, options.interval()),
            refresh=options.interval(),
            default_refresh=options.default_refresh(),
            period=period,
            freshness=fresh,
            freshness_age=_age(fresh, period.now),
            **self.report(period),
        )
        response = self.render_to_response(context, status=400 if options.errors else 200)
        patch_cache_control(response, private=True, no_cache=True)
        return response

    def report(self, period: reports.Period) -> dict:
        raise NotImplementedError

    def poll_url(self, period: reports.Period, refresh: int) -> str:
        """What the figures poll: this page as shown (a refused window replaced by the one shown)."""
        query = self.request.GET.copy()
        query["window"], query["refresh"] = period.window.name, str(refresh)
        return f"{self.request.path}?{query.urlencode()}"


def _age(fresh, now) -> str:
    """How long ago the last pass ran, in words: "just now", "12.0 s ago", "3 min 05 s ago"."""
    age = fresh.age(now)
    if age is None:
        return ""
    if age < timedelta(seconds=1):
        return "just now"
    return f"{formatting.duration(timedelta(seconds=round(age.total_seconds())))} ago"


class OverviewView(InsightsView):
    """``/dashboard/``: the window's throughput by state, failure rate, headline figures, top task names."""

    section = "overview"
    page_title = "Overview"
    template_name = "dashboard/insights/overview.html"
    partial_template_name = "dashboard/insights/partials/overview.html"

    def etag(self, request, *args, **kwargs) -> str:
        """The figures' ETag; for the whole page also the saved views' card (read here once, for the page too)."""
        if self.is_partial_request():
            return figures_etag(request)  # the polled figures: the card is not in them
        self.shown_views = saved_views.shown_to(request.user)
        return figures_etag(request, [(shown.view.pk, shown.view.updated.isoformat()) for shown in self.shown_views])

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        if not context["is_partial"]:
            if not hasattr(self, "shown_views"):
                self.shown_views = saved_views.shown_to(self.request.user)
            context["saved_views"] = self.shown_views
        return context

    def report(self, period):
        overview = reports.overview(period)
        label = period.window.label
        return {
            "overview": overview,
            "throughput_chart": report_charts.throughput(overview.series, period.window, f"Tasks finished, {label}"),
            "failure_chart": report_charts.failure_rate(overview.series, period.window, f"Failure rate, {label}"),
            "slowest_min_runs": reports.SLOWEST_MIN_RUNS,
        }


class TaskNameListView(InsightsView):
    """``/dashboard/task-names/``: one row per task name that finished tasks in the window."""

    section = "task-names"
    page_title = "Task names"
    partial_template_name = "dashboard/insights/partials/task_names.html"

    def report(self, period):
        rows = report_tables.task_name_rows(reports.key_figures(period, Dimension.TASK_NAME), period.window.label)
        table = report_tables.TaskNameTable(rows)
        RequestConfig(self.request).configure(table)
        return {"table": table}


class TaskNameView(InsightsView):
    """``/dashboard/task-names/<name>/``: one task name's throughput, percentiles, queue wait, workers, failures."""

    section = "task-names"
    template_name = "dashboard/insights/task_name.html"
    partial_template_name = "dashboard/insights/partials/task_name.html"

    def report(self, period):
        name = self.kwargs["name"]
        if "\x00" in name:
            raise Http404("No task name holds a NUL character.")
        report = reports.task_name_report(period, name)
        if report.latest is None:
            raise Http404("No task of this name has been counted.")
        label = period.window.label
        return {
            "report": report,
            "throughput_chart": report_charts.throughput(
                report.series, period.window, f"{name}: tasks finished, {label}", task_name=name
            ),
            "runtime_chart": report_charts.percentile_lines(
                report.lines, period.window, f"{name}: runtime percentiles, {label}", "runtime"
            ),
            "wait_chart": report_charts.percentile_lines(
                report.lines, period.window, f"{name}: queue wait, {label}", "wait", fractions=(0.5, 0.95)
            ),
            "percentiles": [
                (f"p{round(f * 100)}", histogram.percentile(report.figures.runtime, f),
                 histogram.percentile(report.figures.wait, f))
                for f in (0.5, 0.95, 0.99)
            ],
        }


class WorkerListView(InsightsView):
    """``/dashboard/workers/``: one row per worker that stored results in the window; quiet ones flagged."""

    section = "workers"
    page_title = "Workers"
    partial_template_name = "dashboard/insights/partials/workers.html"

    def report(self, period):
        quiet_after = formatting.duration(timedelta(seconds=dashboard_setting("WORKER_QUIET_AFTER")))
        rows = report_tables.worker_rows(reports.workers(period), period.window.label, quiet_after)
        table = report_tables.WorkerTable(rows)
        RequestConfig(self.request).configure(table)
        return {"table": table, "quiet_after": quiet_after, "quiet": sum(row["quiet"] for row in rows)}


class PeriodicListView(InsightsView):
    """``/dashboard/periodic/``: every periodic task's last run, usual interval, and whether it is late."""

    section = "periodic"
    page_title = "Periodic tasks"
    partial_template_name = "dashboard/insights/partials/periodic.html"

    def report(self, period):
        rows = report_tables.periodic_rows(reports.periodic(period))
        table = report_tables.PeriodicTable(rows)
        RequestConfig(self.request).configure(table)
        return {"table": table, "late": sum(row["late"] for row in rows)}


class FailureGroupsView(InsightsView):
    """A failures page: its figures move with the statistics, and with what operators decide about the causes."""

    section = "failures"
    options_class = FailureOptionsForm

    def etag(self, request, *args, **kwargs) -> str:
        decided = FailureGroup.objects.aggregate(last=Max("state_changed"))["last"]
        return figures_etag(request, decided.isoformat() if decided else "")


class FailureListView(SavedViewsMenuMixin, FailureGroupsView):
    """``/dashboard/failures/``: one row per failure group with failures in the window, new and regressed first."""

    page_title = "Failures"
    template_name = "dashboard/insights/failures.html"
    saved_view_list = "failures"
    partial_template_name = "dashboard/insights/partials/failure_groups.html"

    def report(self, period):
        rows = reports.failure_groups(period, self.options.chosen("task_name"), self.options.chosen("state"))
        table = report_tables.FailureGroupTable(report_tables.failure_rows(rows))
        RequestConfig(self.request).configure(table)
        # Sorted and paged on the totals; the groups and their trends are read for the page shown only.
        shown = [row.record for row in (table.page.object_list if hasattr(table, "page") else table.rows)]
        digests = [record["cause"] for record in shown]
        report_tables.show_failure_rows(shown, reports.failure_groups_by_digest(digests),
                                        reports.failure_trends(period, digests), period.window.label)
        return {"table": table, "states": Counter(row.state for row in rows)}


#: The latest bulk retries listed on a failure group's page.
REDRIVES_SHOWN = 5


class FailureGroupView(FailureGroupsView):
    """``/dashboard/failures/<fingerprint>/``: a cause's sample traceback, failures over time, tasks and workers."""

    template_name = "dashboard/insights/failure_group.html"
    partial_template_name = "dashboard/insights/partials/failure_group.html"

    def report(self, period):
        group = failure_group(self.kwargs["digest"])
        if group is None:
            raise Http404("No such failure group.")
        report = reports.failure_group_report(period, group)
        sample = report.sample
        return {
            "report": report,
            "failure_chart": report_charts.throughput(
                report.series, period.window, f"Failures of this cause, {period.window.label}", fingerprint=group.digest
            ),
            **tracebacks.shown(sample.traceback if sample else None, dashboard_setting("DETAIL_TEXT_LIMIT")),
            "task_names": group.task_name_list,
            "workers": group.worker_list,
            "redrives": list(group.redrives.select_related("entry")[:REDRIVES_SHOWN]),
        }

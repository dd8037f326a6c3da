"""The overview: what happened lately, with links into the filtered lists."""
from datetime import timedelta

from django.utils import timezone
from django.utils.http import urlencode

from .. import selectors
from ..conf import dashboard_setting
from .base import DashboardView

WINDOWS = (("hour", "Last hour", timedelta(hours=1)), ("day", "Last 24 hours", timedelta(days=1)))


class OverviewView(DashboardView):
    """``/dashboard/``: recent failures now; the status counts load after the page."""

    section = "overview"
    template_name = "dashboard/overview.html"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["failures"] = selectors.recent_failures()
        return context


class StatusCountsView(DashboardView):
    """Tasks per status in the last hour and day, each linking to its filtered list."""

    section = "overview"
    template_name = "dashboard/overview_counts_page.html"
    partial_template_name = "dashboard/partials/status_counts.html"
    partial_target = "status-counts"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        now = timezone.now()
        windows = []
        for key, label, span in WINDOWS:
            since = now - span
            counted = selectors.status_counts_since(since)
            after = timezone.localtime(since).strftime("%Y-%m-%dT%H:%M:%S")
            rows = [
                (status, n, urlencode({"status": status, "date_done_after": after}))
                for status, n in counted.counts.items()
            ]
            windows.append({"key": key, "label": label, "rows": rows, "capped": counted.capped,
                            "all_query": urlencode({"date_done_after": after})})
        context["windows"] = windows
        context["count_limit"] = dashboard_setting("COUNT_LIMIT")
        return context

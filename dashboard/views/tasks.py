"""The task pages: the list, its count, one task's detail."""
from celery import states
from django.http import Http404, HttpResponse, HttpResponseBadRequest, StreamingHttpResponse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.generic import View

from .. import actions, decoding, exports, formatting, reports, selectors, tracebacks
from ..conf import dashboard_setting
from ..filters import TaskFilter
from ..statistics.buckets import DEFAULT_WINDOW, WINDOWS
from ..tables import SelectableTaskTable, TaskTable
from .base import DashboardView, ResultsViewerRequiredMixin
from .lists import FilteredListView
from .saved_views import SavedViewsMenuMixin


class TaskListView(SavedViewsMenuMixin, FilteredListView):
    """``/dashboard/tasks/``: filter, sort and page through task results."""

    section = "tasks"
    saved_view_list = "tasks"
    template_name = "dashboard/tasks/list.html"
    partial_template_name = "dashboard/partials/task_results.html"
    partial_target = "task-results"
    filterset_class = TaskFilter
    table_class = TaskTable
    conditional_polls = True  # a live list whose rows have not changed answers its poll 304

    def get_queryset(self):
        return selectors.task_rows()

    def etag_parts(self):
        return (sorted(actions.allowed_actions(self.request.user)), dashboard_setting("EXPORT_LIMIT"))

    def get_context_data(self, **kwargs):
        return super().get_context_data(export_limit=dashboard_setting("EXPORT_LIMIT"), **kwargs)

    def get_table_class(self):
        # Operators who may act on tasks get a selection column.
        if actions.allowed_actions(self.request.user):
            return SelectableTaskTable
        return super().get_table_class()


class TaskExportView(ResultsViewerRequiredMixin, View):
    """``/dashboard/tasks/export/?format=csv|jsonl&<the list's filters and sort>``: the list's rows as a file.

    The same FilterSet, selector and Table (for the sort) as the list, so the
    file holds exactly the rows the list pages through, in its order;
    streamed (``dashboard.exports``), at most ``EXPORT_LIMIT`` rows.
    """

    http_method_names = ["get", "head"]

    def get(self, request, *args, **kwargs):
        chosen = request.GET.get("format", "csv")
        if chosen not in exports.FORMATS:
            return HttpResponseBadRequest(
                f"format= takes one of: {', '.join(exports.FORMATS)}", content_type="text/plain; charset=utf-8")
        filterset = TaskFilter(request.GET, queryset=selectors.task_rows())
        if not filterset.is_valid():
            errors = "\n".join(f"{name}: {' '.join(messages)}" for name, messages in filterset.errors.items())
            return HttpResponseBadRequest(errors, content_type="text/plain; charset=utf-8")
        table = TaskTable(filterset.qs, order_by=request.GET.get("sort") or None)
        queryset = table.data.data  # ordered as the list orders it
        content_type, extension, lines = exports.FORMATS[chosen]
        response = StreamingHttpResponse(lines(exports.rows(queryset, queryset.query.order_by)),
                                         content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="tasks-{timezone.now():%Y%m%d-%H%M%S}.{extension}"'
        if exports.is_cut(queryset):
            response["X-Export-Truncated"] = f"first {exports.limit()} rows of more"
        return response


class TaskCountView(DashboardView):
    """How many tasks match the list's filters: loaded after the list, bounded."""

    section = "tasks"
    template_name = "dashboard/count_page.html"
    partial_template_name = "dashboard/partials/count.html"
    partial_target = "result-count"
    noun = _("tasks")

    def get(self, request, *args, **kwargs):
        filterset = TaskFilter(request.GET, queryset=selectors.task_rows())
        count = None
        if filterset.is_valid():
            count = selectors.count_rows(filterset.qs)
        context = self.get_context_data(count=count, noun=self.noun, filterset=filterset)
        return self.render_to_response(context, status=200 if count else 400)


class TaskDetailView(DashboardView):
    """``/dashboard/tasks/<task_id>/``: everything stored about one task.

    ``?full=<part>`` (args, kwargs, result, traceback, meta) answers the
    whole stored text of one part, as plain text, for parts too long to show.
    """

    section = "tasks"
    template_name = "dashboard/tasks/detail.html"
    not_found_template_name = "dashboard/tasks/not_found.html"
    full_text_parts = ("task_args", "task_kwargs", "result", "traceback", "meta")

    def get(self, request, task_id, *args, **kwargs):
        task = selectors.task_by_id(task_id)
        if task is None:
            return self.render_not_found(task_id=task_id)
        part = request.GET.get("full")
        if part is not None:
            if part not in self.full_text_parts:
                return HttpResponseBadRequest(
                    f"full= takes one of: {', '.join(self.full_text_parts)}", content_type="text/plain"
                )
            return HttpResponse(getattr(task, part) or "", content_type="text/plain; charset=utf-8")
        return self.render_to_response(self.get_context_data(**self.inspect(task)))

    def inspect(self, task):
        """What the page shows about ``task``, decoded for reading."""
        limit = dashboard_setting("DETAIL_TEXT_LIMIT")
        encoding = (task.content_type, task.content_encoding)
        meta_value, meta_note = decoding.decode_stored(task.meta, *encoding)
        meta = meta_value if isinstance(meta_value, dict) else {}
        children = [ref for ref in map(decoding.parse_result_tuple, meta.get("children") or []) if ref]
        child_ids = decoding.task_ids_in(children)[: dashboard_setting("GROUP_MEMBERS_SHOWN")]
        extra_meta = {key: value for key, value in meta.items() if key != "children"}
        return {
            "task": task,
            "runtime": formatting.runtime(task),
            "queue_wait": formatting.queue_wait(task),
            "ready": task.status in states.READY_STATES,
            "args": decoding.show_arguments(task.task_args, *encoding, limit),
            "kwargs": decoding.show_arguments(task.task_kwargs, *encoding, limit),
            "result": decoding.show_value(task.result, *encoding, limit),
            **tracebacks.shown(task.traceback, limit),
            "children": children,
            "child_statuses": selectors.task_statuses(child_ids) if child_ids else {},
            "meta_extra": decoding.pretty(extra_meta) if extra_meta else "",
            "meta_note": meta_note,
            "group": selectors.group_of_task(task, meta),
            **self._failure_group(task),
            "history": selectors.task_history(task.task_id),
        }

    @staticmethod
    def _failure_group(task) -> dict:
        """The failure group the statistics pass put this failure in (none before it counted it)."""
        if task.status != states.FAILURE:
            return {}
        group = selectors.failure_group_of(task)
        if group is None:
            return {}
        since = reports.Period.of(WINDOWS[DEFAULT_WINDOW]).span.start  # "new": first seen in the default window
        return {"failure_group": group, "failure_group_state": reports.FailureState.of(group, since)}


class SameArgumentsView(DashboardView):
    """Other runs of a task's name with the same arguments: loaded after the detail page."""

    section = "tasks"
    template_name = "dashboard/tasks/same_args_page.html"
    partial_template_name = "dashboard/partials/same_args.html"
    partial_target = "same-args"

    def get(self, request, task_id, *args, **kwargs):
        task = selectors.task_by_id(task_id)
        if task is None:
            raise Http404("No such task")
        same = selectors.runs_with_same_arguments(task)
        context = self.get_context_data(
            task=task, runs=same.runs, scanned_all=same.scanned_all, scan=dashboard_setting("SAME_ARGS_SCAN")
        )
        return self.render_to_response(context)

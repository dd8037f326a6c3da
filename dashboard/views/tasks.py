"""The task pages: the list, its count, one task's detail."""
from django.utils.translation import gettext_lazy as _

from .. import selectors
from ..filters import TaskFilter
from ..tables import TaskTable
from .base import DashboardView
from .lists import FilteredListView


class TaskListView(FilteredListView):
    """``/dashboard/tasks/``: filter, sort and page through task results."""

    section = "tasks"
    template_name = "dashboard/tasks/list.html"
    partial_template_name = "dashboard/partials/task_results.html"
    partial_target = "task-results"
    filterset_class = TaskFilter
    table_class = TaskTable
    count_url_name = "dashboard:task-count"

    def rows(self):
        return selectors.task_rows()


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
            count = selectors.count_rows(filterset.qs, filtered=bool(filterset.active_filters))
        context = self.get_context_data(count=count, noun=self.noun, filterset=filterset)
        return self.render_to_response(context, status=200 if count else 400)


class TaskDetailView(DashboardView):
    """``/dashboard/tasks/<task_id>/``: everything stored about one task."""

    section = "tasks"
    template_name = "dashboard/tasks/detail.html"
    not_found_template_name = "dashboard/tasks/not_found.html"

    def get(self, request, task_id, *args, **kwargs):
        task = selectors.task_by_id(task_id)
        if task is None:
            context = self.get_context_data(task_id=task_id)
            return self.response_class(
                request=request, template=[self.not_found_template_name], context=context, status=404
            )
        context = self.get_context_data(task=task)
        return self.render_to_response(context)

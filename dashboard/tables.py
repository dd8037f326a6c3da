"""The lists' tables (django-tables2): their columns and how each sorts.

Every sortable column sorts on indexed columns, with ``id`` as the tie
breaker so that pages never repeat or skip a row. The default order,
newest first, is ``(-date_done, -id)``: the order the cursor pages through.

Cells are built with ``format_html``, so every value (names, worker names,
ids) is escaped.
"""
import django_tables2 as tables
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from results.models import GroupResult, TaskResult

from . import formatting

DEFAULT_ORDER = ("-date_done",)


def id_cell(value, url):
    """A short id linking to its page, the full id on hover, and a copy button."""
    return format_html(
        '<a class="id" href="{}" title="{}">{}</a>'
        ' <button type="button" class="copy" data-copy="{}" title="{}" hidden>⧉</button>',
        url,
        value,
        formatting.short_id(value),
        value,
        _("Copy the full id"),
    )


class DateTimeCell(tables.Column):
    def render(self, value):
        return formatting.datetime_cell(value)


class TaskTable(tables.Table):
    """The task list. Subclass it to add columns (a selection checkbox...)."""

    task_id = tables.Column(verbose_name=_("Task id"), order_by=("task_id",))
    task_name = tables.Column(verbose_name=_("Task name"), order_by=("task_name", "id"), default="")
    status = tables.Column(verbose_name=_("Status"), order_by=("status", "id"))
    worker = tables.Column(verbose_name=_("Worker"), order_by=("worker", "id"), default="")
    periodic_task_name = tables.Column(
        verbose_name=_("Periodic task"), order_by=("periodic_task_name", "id"), default=""
    )
    date_created = DateTimeCell(verbose_name=_("Created"), order_by=("date_created", "id"))
    date_started = DateTimeCell(verbose_name=_("Started"), order_by=("date_started", "id"))
    date_done = DateTimeCell(verbose_name=_("Done / updated"), order_by=("date_done", "id"))
    runtime = tables.Column(verbose_name=_("Runtime"), accessor="pk", orderable=False)
    queue_wait = tables.Column(verbose_name=_("Queue wait"), accessor="pk", orderable=False)

    class Meta:
        model = TaskResult
        fields = ()
        sequence = (
            "task_id", "task_name", "status", "worker", "periodic_task_name",
            "date_created", "date_started", "date_done", "runtime", "queue_wait",
        )
        order_by = DEFAULT_ORDER
        template_name = "dashboard/partials/table.html"
        attrs = {"class": "results-table"}
        empty_text = _("No task matches these filters.")
        row_attrs = {"class": lambda record: f"status-{formatting.STATUS_TONES.get(record.status, 'other')}"}

    def render_task_id(self, value):
        return id_cell(value, reverse("dashboard:task", args=[value]))

    def render_status(self, value):
        return formatting.status_badge(value)

    def render_runtime(self, record):
        return formatting.duration(formatting.runtime(record))

    def render_queue_wait(self, record):
        return formatting.duration(formatting.queue_wait(record))


class GroupTable(tables.Table):
    """The group list."""

    group_id = tables.Column(verbose_name=_("Group id"), order_by=("group_id",))
    date_created = DateTimeCell(verbose_name=_("Created"), order_by=("date_created", "id"))
    date_done = DateTimeCell(verbose_name=_("Saved"), order_by=("date_done", "id"))

    class Meta:
        model = GroupResult
        fields = ()
        sequence = ("group_id", "date_created", "date_done")
        order_by = DEFAULT_ORDER
        template_name = "dashboard/partials/table.html"
        attrs = {"class": "results-table"}
        empty_text = _("No group matches these filters.")

    def render_group_id(self, value):
        return id_cell(value, reverse("dashboard:group", args=[value]))

"""The lists' tables (django-tables2): their columns and how each sorts.

Every sortable column sorts on indexed columns, with ``id`` as the tie
breaker so that pages never repeat or skip a row. The default order,
newest first, is ``(-date_done, -id)``: the order the cursor pages through.

Cells are built with ``format_html``, so every value (names, worker names,
ids) is escaped.
"""
import inspect
import operator
from functools import partial
from urllib.parse import quote

import django_tables2 as tables
from django.urls import get_script_prefix, reverse
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from results.models import GroupResult, TaskResult

from . import formatting

DEFAULT_ORDER = ("-date_done",)


class UrlPattern:
    """``reverse(name, args=[id])`` for many ids, reversing once.

    Ids are quoted the way Django's ``path`` converter quotes them.
    """

    PLACEHOLDER = "ID-PLACEHOLDER"

    def __init__(self, name):
        self.name = name
        self.parts = {}

    def __call__(self, value):
        prefix = get_script_prefix()
        if prefix not in self.parts:
            self.parts[prefix] = reverse(self.name, args=[self.PLACEHOLDER]).split(self.PLACEHOLDER)
        return quote(value, safe="/~:@!$&'()*+,;=").join(self.parts[prefix])


def id_cell(value, url):
    """A short id linking to its page, the full id on hover, and a copy button."""
    return format_html(
        '{} <button type="button" class="copy" data-copy="{}" title="{}" hidden>copy</button>',
        formatting.id_link(value, url),
        value,
        _("Copy the full id"),
    )


CELL_ARGUMENTS = ("value", "record", "column", "bound_column", "bound_row", "table")


class FastRowsMixin:
    """Render the body rows in one pass of Python instead of a template per cell.

    django-tables2 renders each cell through the template engine and
    inspects the render function's signature for every cell; at 25 rows of
    10 columns that is most of a page's time. Here the renderer of each
    column (the table's ``render_<name>`` method, else the column's
    ``render``) and its arguments are worked out once per column; cells
    follow django-tables2's rules (empty values show the column's
    ``default`` without calling the renderer; everything is escaped unless
    the renderer returns safe HTML). Columns added by a subclass, such as a
    ``CheckBoxColumn``, render the same way.
    """

    def render_rows(self):
        cells = [self._cell_renderer(bound_column) for bound_column in self.columns]
        return mark_safe(
            "".join(
                format_html(
                    "<tr {}>{}</tr>",
                    row.attrs.as_html(),
                    format_html_join("", "<td {}>{}</td>", ((td_attrs, cell(row)) for td_attrs, cell in cells)),
                )
                for row in self.paginated_rows
            )
        )

    def _cell_renderer(self, bound_column):
        column = bound_column.column
        render = getattr(self, f"render_{bound_column.name}", None) or column.render
        parameters = inspect.signature(render).parameters
        takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters.values())
        wanted = [name for name in CELL_ARGUMENTS if takes_all or name in parameters]
        accessor, default, empty = bound_column.accessor, bound_column.default, column.empty_values
        if accessor.isidentifier():  # a plain attribute: skip the accessor's path walking
            resolve = operator.attrgetter(accessor)
        else:
            resolve = partial(accessor.resolve, quiet=True)

        def cell(bound_row):
            record = bound_row.record
            value = resolve(record)
            if value in empty:
                return conditional_escape(default)
            available = {
                "value": value, "record": record, "column": column,
                "bound_column": bound_column, "bound_row": bound_row, "table": self,
            }
            return conditional_escape(render(**{name: available[name] for name in wanted}))

        return bound_column.attrs["td"].as_html(), cell


class DateTimeCell(tables.Column):
    def render(self, value):
        return formatting.datetime_cell(value)


class TaskTable(FastRowsMixin, tables.Table):
    """The task list. Subclass it to add columns (a selection checkbox...)."""

    # An empty id (a row stored with one) is a column's empty value: shown as the default, in words.
    task_id = tables.Column(verbose_name=_("Task id"), order_by=("task_id",), default=formatting.EMPTY_ID)
    task_name = tables.Column(verbose_name=_("Task name"), order_by=("task_name", "date_done", "id"), default="")
    status = tables.Column(verbose_name=_("Status"), order_by=("status", "date_done", "id"))
    worker = tables.Column(verbose_name=_("Worker"), order_by=("worker", "date_done", "id"), default="")
    periodic_task_name = tables.Column(
        verbose_name=_("Periodic task"), order_by=("periodic_task_name", "date_done", "id"), default=""
    )
    date_created = DateTimeCell(verbose_name=_("Created"), order_by=("date_created", "id"), initial_sort_descending=True)
    date_started = DateTimeCell(verbose_name=_("Started"), orderable=False)
    date_done = DateTimeCell(verbose_name=_("Done / updated"), order_by=("date_done", "id"), initial_sort_descending=True)
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

    task_url = UrlPattern("dashboard:task")

    def render_task_id(self, value):
        return id_cell(value, self.task_url(value))

    def render_status(self, value):
        return formatting.status_badge(value)

    def render_runtime(self, record):
        return formatting.duration(formatting.runtime(record))

    def render_queue_wait(self, record):
        return formatting.duration(formatting.queue_wait(record))


class GroupTable(FastRowsMixin, tables.Table):
    """The group list."""

    group_id = tables.Column(verbose_name=_("Group id"), order_by=("group_id",), default=formatting.EMPTY_ID)
    date_created = DateTimeCell(verbose_name=_("Created"), order_by=("date_created", "id"), initial_sort_descending=True)
    date_done = DateTimeCell(verbose_name=_("Saved"), order_by=("date_done", "id"), initial_sort_descending=True)

    class Meta:
        model = GroupResult
        fields = ()
        sequence = ("group_id", "date_created", "date_done")
        order_by = DEFAULT_ORDER
        template_name = "dashboard/partials/table.html"
        attrs = {"class": "results-table"}
        empty_text = _("No group matches these filters.")

    group_url = UrlPattern("dashboard:group")

    def render_group_id(self, value):
        return id_cell(value, self.group_url(value))


class AuditTable(tables.Table):
    """The audit trail: one row per operator action, newest first (not sortable: always by time)."""

    created = DateTimeCell(verbose_name=_("When"), orderable=False)
    username = tables.Column(verbose_name=_("Who"), orderable=False, default="")
    action = tables.Column(verbose_name=_("Action"), orderable=False)
    task_count = tables.Column(verbose_name=_("Tasks"), orderable=False)
    succeeded = tables.Column(verbose_name=_("Done"), orderable=False)
    outcome = tables.Column(verbose_name=_("Outcome"), orderable=False)
    summary = tables.Column(verbose_name=_("Summary"), orderable=False, default="")

    class Meta:
        fields = ()
        sequence = ("created", "username", "action", "task_count", "succeeded", "outcome", "summary")
        template_name = "django_tables2/table.html"
        attrs = {"class": "results-table"}
        empty_text = _("No action has been taken yet.")

    OUTCOME_TONES = {"done": "ok", "partial": "warn", "failed": "bad"}
    def render_action(self, record):
        url = reverse("dashboard:audit-entry", args=[record.pk])
        return format_html('<a href="{}">{}</a>', url, record.get_action_display())

    def render_outcome(self, record):
        return format_html('<span class="badge badge-{}">{}</span>', self.OUTCOME_TONES.get(record.outcome, "other"),
                           record.get_outcome_display())


class SelectionColumn(tables.CheckBoxColumn):
    """A checkbox per row naming its task id, part of the ``task-selection`` form wherever that form is."""

    def __init__(self, **kwargs):
        kwargs.setdefault("attrs", {"input": {"form": "task-selection", "name": "task_id"}})
        super().__init__(**kwargs)

    @property
    def header(self):
        return _("Select")


class SelectableTaskTable(TaskTable):
    """The task list with a selection column, for users who may run operator actions."""

    select = SelectionColumn(accessor="task_id", orderable=False)

    class Meta(TaskTable.Meta):
        sequence = ("select", "...")

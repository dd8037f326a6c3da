"""The lists' tables (django-tables2): their columns and how each sorts.

Every sortable column sorts on indexed columns, with ``id`` as the tie
breaker so that pages never repeat or skip a row. The default order,
newest first, is ``(-date_done, -id)``: the order the cursor pages through.

Cells are built with ``format_html``, so every value (names, worker names,
ids) is escaped.
"""
import operator
from functools import partial
from urllib.parse import quote

import django_tables2 as tables
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model
from django.template import Context
from django.template.base import render_value_in_context
from django.urls import get_script_prefix, reverse
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django_tables2.columns.linkcolumn import BaseLinkColumn
from django_tables2.columns.manytomanycolumn import ManyToManyColumn
from django_tables2.utils import signature

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


def _has_callable(attrs):
    return any(callable(value) or (isinstance(value, dict) and _has_callable(value)) for value in attrs.values())


class FastRowsMixin:
    """Render the body rows in one pass of Python instead of a template per cell.

    django-tables2 renders each cell through the template engine (a loop
    over ``row.items`` that builds the cell's attributes and inspects its
    render function's signature, per cell): at 25 rows of the task list's 11
    columns that adds 25 to 35 ms to every page on this machine, on top of
    the fast path's ~10. Here each column's renderer (``bound_column.render``:
    the table's ``render_<name>``, else the column's ``render``), the arguments
    it takes and the cell's attributes are worked out once per column, and
    each cell is what django-tables2 renders: the column's ``default`` for an
    empty value (without calling the renderer), else the renderer's result as
    a template renders ``{{ cell }}`` (localised, escaped unless safe).
    ``tests/dashboard/test_tables.py`` renders every table both ways and
    compares them.

    Column features it does not reproduce make it raise
    ``ImproperlyConfigured`` naming the column, rather than render them
    differently: ``linkify``, ``localize``, callables in the cell's
    attributes (per-record ``td`` attributes), a model field with choices
    (shown through ``get_FOO_display``), link and many-to-many columns. A
    table that needs them renders its rows with django-tables2's own
    template: leave the mixin out.
    """

    def render_rows(self):
        rows = list(self.paginated_rows)
        model_rows = all(isinstance(row.record, Model) for row in rows)
        cells = [self._cell_renderer(bound_column, model_rows) for bound_column in self.columns]
        return mark_safe(
            "".join(
                format_html(
                    "<tr {}>{}</tr>",
                    row.attrs.as_html(),
                    format_html_join("", "<td {}>{}</td>", ((td_attrs, cell(row)) for td_attrs, cell in cells)),
                )
                for row in rows
            )
        )

    def _model(self):
        """The model of the rows: the queryset's, else the table's ``Meta.model`` (None for other data)."""
        return getattr(self.data, "model", None) or self._meta.model

    def _unsupported(self, bound_column):
        """What django-tables2 would render for ``bound_column`` that this fast path would not, or ''."""
        column = bound_column.column
        if bound_column.link:
            return "linkify"
        if column.localize is not None:
            return "localize"
        if isinstance(column, BaseLinkColumn | ManyToManyColumn):
            return type(column).__name__
        attrs = {**self.attrs, **column.attrs}
        if _has_callable(attrs.get("td", attrs.get("cell", {}))):
            return "callable td attributes"
        field = bound_column.accessor.get_field(self._model())
        if getattr(field, "choices", None):
            return f"choices of the {field.name} field (get_{field.name}_display)"
        return ""

    def _cell_renderer(self, bound_column, model_rows):
        feature = self._unsupported(bound_column)
        if feature:
            raise ImproperlyConfigured(
                f"{type(self).__name__}.{bound_column.name}: FastRowsMixin does not render {feature}; "
                "leave the mixin out to render the rows with django-tables2's template"
            )
        column, render = bound_column.column, bound_column.render
        wanted, takes_all = signature(render)
        takes = CELL_ARGUMENTS if takes_all else wanted
        # As django-tables2's call_with_appropriate: a renderer wanting an argument no cell has gets None.
        unrenderable = not takes_all and any(name not in CELL_ARGUMENTS for name in wanted)
        accessor, default, empty = bound_column.accessor, bound_column.default, column.empty_values
        field = accessor.get_field(self._model()) if accessor.isidentifier() else None
        if model_rows and (accessor == "pk" or (field is not None and field.concrete)):
            read = operator.attrgetter(accessor)  # a model row's column: skip the accessor's general lookups
        else:
            read = partial(accessor.resolve, quiet=True)
        context = Context()  # what {% render_table %} renders {{ cell }} in: autoescape, the project's l10n and tz

        def cell(bound_row):
            record = bound_row.record
            value = read(record)
            if value in empty:
                content = default
            elif unrenderable:
                content = None
            else:
                available = {
                    "value": value, "record": record, "column": column,
                    "bound_column": bound_column, "bound_row": bound_row, "table": self,
                }
                content = render(**{name: available[name] for name in takes})
            # As {{ content }}: text is only escaped (unless safe); anything else is localised first.
            if isinstance(content, str):
                return conditional_escape(content)
            return render_value_in_context(content, context)

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
    date_created = DateTimeCell(
        verbose_name=_("Created"), order_by=("date_created", "id"), initial_sort_descending=True
    )
    date_started = DateTimeCell(verbose_name=_("Started"), orderable=False)
    date_done = DateTimeCell(
        verbose_name=_("Done / updated"), order_by=("date_done", "id"), initial_sort_descending=True
    )
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

    def render_task_name(self, value):
        return formatting.cut_text(value)

    def render_worker(self, value):
        return formatting.cut_text(value)

    def render_periodic_task_name(self, value):
        return formatting.cut_text(value)

    def render_runtime(self, record):
        return formatting.duration(formatting.runtime(record))

    def render_queue_wait(self, record):
        return formatting.duration(formatting.queue_wait(record))


class GroupTable(FastRowsMixin, tables.Table):
    """The group list."""

    group_id = tables.Column(verbose_name=_("Group id"), order_by=("group_id",), default=formatting.EMPTY_ID)
    date_created = DateTimeCell(
        verbose_name=_("Created"), order_by=("date_created", "id"), initial_sort_descending=True
    )
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

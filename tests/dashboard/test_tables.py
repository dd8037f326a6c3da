"""``dashboard.tables``: the lists' rows, rendered by ``FastRowsMixin`` exactly as django-tables2 renders them.

Every table that uses the fast path is rendered both ways, over rows that
reach every branch of its cells (empty and missing values, a custom state,
HTML in names, ids that need quoting, missing dates), and the two bodies
must be the same HTML. A column feature the fast path does not reproduce
makes it fail loudly.
"""
import inspect
import re
from datetime import timedelta
from decimal import Decimal

import django_tables2 as tables
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.template.loader import get_template
from django.test import RequestFactory
from django.utils import timezone

from dashboard import selectors
from dashboard import tables as dashboard_tables
from dashboard.models import AuditEntry
from dashboard.tables import FastRowsMixin, GroupTable, SelectableTaskTable, TaskTable
from results.models import TaskResult

FAST_TABLES = [TaskTable, SelectableTaskTable, GroupTable]
EVIL = "<script>alert('x')</script> & \"quoted\""


def stock_rows(table):
    """The body rows as django-tables2's own ``table.html`` renders them."""
    html = get_template("django_tables2/table.html").render({"table": table}, RequestFactory().get("/"))
    return tbody(html)


def tbody(html):
    inner = re.search(r"<tbody[^>]*>(.*)</tbody>", html, re.S).group(1)
    return re.sub(r">\s+<", "><", inner.strip())


def fast_rows(table):
    return tbody(f"<tbody>{table.render_rows()}</tbody>")


def both_ways(table_class, data):
    """The body rendered by the fast path and by django-tables2, each from a fresh table (rows count odd/even)."""
    fast, stock = table_class(data), table_class(data)
    fast.paginate(per_page=100)
    stock.paginate(per_page=100)
    return fast_rows(fast), stock_rows(stock)


def test_every_fast_table_is_compared_here():
    in_module = {
        obj for _, obj in inspect.getmembers(dashboard_tables, inspect.isclass)
        if issubclass(obj, FastRowsMixin) and obj is not FastRowsMixin
    }
    assert in_module == set(FAST_TABLES)


@pytest.fixture
def awkward_tasks(make_task):
    now = timezone.now()
    make_task(task_id="plain", task_name="proj.tasks.add", periodic_task_name="nightly")
    make_task(task_id="", status="FAILURE")  # an empty id: no link
    make_task(task_id="a/b c?d#e%f&g", task_name=EVIL, worker=EVIL, periodic_task_name=EVIL, status=EVIL)
    make_task(task_id="custom", status="PROGRESS", task_name=None, worker=None, periodic_task_name="")
    make_task(task_id="ünïcødé-✓", date_created=now, date_started=None, date_done=now)
    make_task(task_id="not-started", date_created=now - timedelta(seconds=3), date_started=None, date_done=now)
    make_task(task_id="backwards", date_created=now, date_started=now + timedelta(seconds=5), date_done=now)
    make_task(task_id="x" * 255, date_created=now - timedelta(days=3), date_started=now - timedelta(days=2),
              date_done=now)


@pytest.mark.parametrize("table_class", [TaskTable, SelectableTaskTable])
def test_task_rows_are_what_django_tables2_renders(awkward_tasks, table_class):
    fast, stock = both_ways(table_class, selectors.task_rows().order_by("-date_done", "-id"))
    assert fast.count("<tr ") == TaskResult.objects.count() == 8
    assert fast == stock


def test_group_rows_are_what_django_tables2_renders(make_group):
    make_group(group_id="alpha")
    make_group(group_id="")
    make_group(group_id="<b>g</b>/?#")
    make_group(group_id="no-date", date_done=None)
    fast, stock = both_ways(GroupTable, selectors.group_rows().order_by("-date_done", "-id"))
    assert fast.count("<tr ") == 4
    assert fast == stock


def test_values_render_as_a_template_renders_them_localised(make_task, settings):
    """Renderers that return numbers, dates or None: localised and in the current time zone, as {{ cell }}."""
    settings.USE_THOUSAND_SEPARATOR = True
    settings.TIME_ZONE = "Asia/Kolkata"

    class Values(FastRowsMixin, tables.Table):
        number = tables.Column(accessor="pk")
        done = tables.Column(accessor="date_done")
        ratio = tables.Column(accessor="pk", empty_values=())
        nothing = tables.Column(accessor="pk")
        needs_more = tables.Column(accessor="pk")
        worker = tables.Column(default="—")

        def render_number(self, value):
            return value * 1_000_003

        def render_ratio(self, value, record):
            return Decimal(value) / 3

        def render_nothing(self, value):
            return None

        def render_needs_more(self, value, unknown):
            return "never called"

    make_task(worker=None)
    make_task(worker=EVIL)
    fast, stock = both_ways(Values, TaskResult.objects.order_by("id"))
    assert "," in fast and "None" in fast and "—" in fast
    assert fast == stock


@pytest.mark.parametrize(
    "column, feature",
    [
        (tables.Column(accessor="task_id", linkify=lambda record: "/x/"), "linkify"),
        (tables.Column(accessor="pk", localize=True), "localize"),
        (tables.Column(accessor="pk", localize=False), "localize"),
        (tables.Column(accessor="pk", attrs={"td": {"data-id": lambda record: record.pk}}), "callable td attributes"),
        (tables.Column(accessor="pk", attrs={"cell": {"title": lambda value: value}}), "callable td attributes"),
        (tables.LinkColumn("dashboard:task", args=[tables.A("task_id")]), "linkify"),
        (tables.ManyToManyColumn(accessor="pk"), "ManyToManyColumn"),
    ],
)
def test_a_column_feature_it_does_not_render_fails_loudly(make_task, column, feature):
    make_task()

    class Extended(TaskTable):
        extra = column

    table = Extended(selectors.task_rows())
    table.paginate(per_page=10)
    with pytest.raises(ImproperlyConfigured, match=rf"Extended\.extra: FastRowsMixin does not render {feature}"):
        table.render_rows()


def test_table_level_callable_cell_attributes_fail_loudly(make_task):
    make_task()
    table = TaskTable(selectors.task_rows(), attrs={"td": {"class": lambda record: record.status}})
    table.paginate(per_page=10)
    with pytest.raises(ImproperlyConfigured, match="callable td attributes"):
        table.render_rows()


def test_a_field_with_choices_fails_loudly(db):
    """django-tables2 shows such a field through get_FOO_display; the fast path would show the stored value."""

    class Actions(FastRowsMixin, tables.Table):
        action = tables.Column()

        class Meta:
            model = AuditEntry

    AuditEntry.objects.create(username="u", action="retry", outcome="done")
    table = Actions(AuditEntry.objects.all())
    table.paginate(per_page=10)
    with pytest.raises(ImproperlyConfigured, match="choices of the action field"):
        table.render_rows()


def test_static_cell_attributes_are_kept(make_task):
    make_task()

    class WithAttrs(TaskTable):
        extra = tables.Column(accessor="task_name", attrs={"td": {"class": "mono", "data-x": "1"}})

    fast, stock = both_ways(WithAttrs, selectors.task_rows())
    assert 'class="mono" data-x="1"' in fast and fast == stock

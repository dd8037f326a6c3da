"""Admin list filters whose choices never scan a large result table.

Django's ``AllValuesFieldListFilter`` lists a column's choices with
``SELECT DISTINCT column`` over the whole table, on every changelist
view: on millions of results that is a full scan per filter. These filters
offer the values seen among the most recently finished results instead
(one bounded query shared by every filter of the page), plus the value
currently selected, so an active filter always shows.
"""
from celery import states
from django.contrib import admin
from django.db import connections

# How many of the most recent rows the choices are taken from.
RECENT_WINDOW = 10_000


def recent_distinct_values(model, fields, using="default", window=None, order_by="date_done"):
    """``{field: set of values}`` among the ``window`` (default ``RECENT_WINDOW``) rows most recent by ``order_by``.

    One query: the window is read once, through the index on
    ``order_by``, and each column's distinct values are computed from it.
    NULL appears as None.
    """
    connection = connections[using]
    quote = connection.ops.quote_name
    opts = model._meta
    columns = {name: quote(opts.get_field(name).column) for name in fields}
    window_sql = (
        f"SELECT {', '.join(columns.values())} FROM {quote(opts.db_table)}"
        f" ORDER BY {quote(opts.get_field(order_by).column)} DESC LIMIT %s"
    )
    per_field = " UNION ALL ".join(
        f"SELECT %s, {column} FROM recent GROUP BY {column}" for column in columns.values()
    )
    values = {name: set() for name in fields}
    if not fields:
        return values
    with connection.cursor() as cursor:
        cursor.execute(f"WITH recent AS ({window_sql}) {per_field}", [window or RECENT_WINDOW, *fields])
        for name, value in cursor.fetchall():
            values[name].add(value)
    return values


def _recent_values_for(request, model_admin):
    """The recent values of every recent-values filter of ``model_admin``, once per request."""
    cache = request.__dict__.setdefault("_results_recent_values", {})
    key = type(model_admin)
    if key not in cache:
        fields = [
            name
            for name, filter_class in (
                item for item in model_admin.get_list_filter(request) if isinstance(item, tuple)
            )
            if issubclass(filter_class, RecentValuesFieldListFilter)
        ]
        cache[key] = recent_distinct_values(
            model_admin.model, fields, using=model_admin.get_queryset(request).db
        )
    return cache[key]


class RecentValuesFieldListFilter(admin.AllValuesFieldListFilter):
    """Choices: the values of the most recent results, not of the whole table.

    Use it as ``("field", RecentValuesFieldListFilter)`` in ``list_filter``.
    """

    # Values offered even when no recent row has them.
    always_offered = ()

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        values = set(_recent_values_for(request, model_admin)[field_path])
        values.update(self.always_offered)
        if self.lookup_val:
            values.update(self.lookup_val)
        has_null = None in values
        values.discard(None)
        # AllValuesFieldListFilter offers the empty choice when it meets None.
        self.lookup_choices = sorted(values) + ([None] if has_null else [])


class StatusListFilter(RecentValuesFieldListFilter):
    """Every state Celery knows, plus any custom state seen recently."""

    always_offered = tuple(sorted(states.ALL_STATES))

"""Row counts that stay cheap on tables of millions of rows.

``SELECT COUNT(*)`` reads every row (or every index entry) it counts, so a
paginator that counts an unfiltered result table on each page view costs
seconds at a few million rows. Paginated lists only need a count good
enough to draw the page links, so:

- an unfiltered queryset over a large table takes the database's own
  estimate of the table size (PostgreSQL's planner statistics, MySQL's
  ``information_schema``, the primary-key span on SQLite); small tables
  are counted exactly;
- a filtered queryset is counted exactly up to a bound, and above it the
  planner's estimate (PostgreSQL) or the bound itself is used.

Used by the admin's paginator here, and by the dashboard (``bounded_count``,
``count_up_to``): every count either runs goes through this module.
"""
import json
from typing import NamedTuple

from django.core.paginator import Paginator
from django.db import connections
from django.db.models import QuerySet
from django.utils.functional import cached_property

# Below this many rows (by the estimate) an exact count is cheap enough.
ESTIMATE_THRESHOLD = 100_000
# A filtered count stops reading after this many matching rows.
BOUNDED_COUNT_LIMIT = 100_000


def estimated_table_rows(model, using="default"):
    """The database's estimate of how many rows ``model``'s table holds, or None.

    Costs one catalog lookup (or, on SQLite, two primary-key index seeks),
    whatever the size of the table. The estimate may lag behind recent
    writes: PostgreSQL scales its last ANALYZE figure by the table's current
    size, MySQL/MariaDB refresh theirs in the background, and SQLite's span
    of primary keys also counts rows deleted from the middle of the table.
    """
    connection = connections[using]
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # What the planner itself assumes: tuples per page at the last
            # ANALYZE times the pages the table has now.
            cursor.execute(
                "SELECT CASE WHEN c.reltuples < 0 THEN NULL"
                " WHEN c.relpages = 0 THEN c.reltuples"
                " ELSE c.reltuples / c.relpages"
                " * (pg_relation_size(c.oid) / current_setting('block_size')::integer) END"
                " FROM pg_class c WHERE c.oid = to_regclass(%s)",
                [connection.ops.quote_name(table)],
            )
        elif connection.vendor == "mysql":
            cursor.execute(
                "SELECT table_rows FROM information_schema.tables"
                " WHERE table_schema = DATABASE() AND table_name = %s",
                [table],
            )
        elif connection.vendor == "sqlite":
            pk = connection.ops.quote_name(model._meta.pk.column)
            quoted = connection.ops.quote_name(table)
            # Two subqueries, since SQLite only optimises a lone MIN or MAX.
            cursor.execute(
                f"SELECT (SELECT MAX({pk}) FROM {quoted}) - (SELECT MIN({pk}) FROM {quoted}) + 1"
            )
        else:
            return None
        row = cursor.fetchone()
    if row is None or row[0] is None:
        return None
    return max(int(row[0]), 0)


def planner_estimate(queryset):
    """The number of rows the query planner expects ``queryset`` to return, or None.

    Only PostgreSQL's estimate is trusted here; others answer None.
    """
    if connections[queryset.db].vendor != "postgresql":
        return None
    plan = queryset.order_by().explain(format="json")
    return int(json.loads(plan)[0]["Plan"]["Plan Rows"])


def is_unfiltered(queryset):
    """True when ``queryset`` selects every row of its table, once."""
    query = queryset.query
    return not (query.has_filters() or query.distinct or query.is_sliced or query.combinator)


def count_up_to(queryset, limit):
    """How many rows ``queryset`` holds, reading at most ``limit + 1`` of them.

    ``COUNT(*)`` over a ``LIMIT``ed subquery of primary keys: an answer of
    ``limit + 1`` means "more than ``limit``".
    """
    return queryset.order_by().values("pk")[: limit + 1].count()


class BoundedCount(NamedTuple):
    """How many rows match: ``exact``, or more than ``at_least`` with the database's ``estimate`` (or None)."""

    exact: int | None = None
    at_least: int | None = None
    estimate: int | None = None


def bounded_count(queryset, limit) -> BoundedCount:
    """Count ``queryset`` without ever reading more than ``limit + 1`` of its rows.

    Unfiltered: the table's estimate (``estimated_table_rows``) when it is
    above ``limit``, with no count at all. Otherwise (or when the database
    has no estimate) an exact count capped at ``limit`` (``count_up_to``),
    plus the planner's estimate when the cap is reached.
    """
    if is_unfiltered(queryset):
        estimate = estimated_table_rows(queryset.model, queryset.db)
        if estimate is not None and estimate > limit:
            return BoundedCount(at_least=limit, estimate=estimate)
    counted = count_up_to(queryset, limit)
    if counted <= limit:
        return BoundedCount(exact=counted)
    return BoundedCount(at_least=limit, estimate=planner_estimate(queryset.values("pk")))


def fast_count(queryset, threshold=ESTIMATE_THRESHOLD, limit=BOUNDED_COUNT_LIMIT):
    """A count of ``queryset`` that never reads a large table in full (one number, for a paginator).

    Exact for small tables and for filtered results of up to ``limit``
    rows; an estimate beyond (never less than ``limit + 1``).
    """
    if is_unfiltered(queryset):
        estimate = estimated_table_rows(queryset.model, queryset.db)
        if estimate is not None and estimate >= threshold:
            return estimate
        return queryset.count()
    count = bounded_count(queryset, limit)
    if count.exact is not None:
        return count.exact
    return max(limit + 1, count.estimate or 0)


class EstimatedCountPaginator(Paginator):
    """A paginator whose count comes from ``fast_count`` for querysets.

    When the count is an overestimate, the pages past the real end of the
    list come back empty; everything else behaves as Django's ``Paginator``.
    """

    threshold = ESTIMATE_THRESHOLD
    limit = BOUNDED_COUNT_LIMIT

    @cached_property
    def count(self):
        if isinstance(self.object_list, QuerySet):
            return fast_count(self.object_list, threshold=self.threshold, limit=self.limit)
        return super().count

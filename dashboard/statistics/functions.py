"""Database functions the statistics' reads use.

``EpochSeconds`` reads a bucket's start as whole seconds since 1970 (UTC):
an integer comes back far cheaper than a datetime (the drivers parse a
timestamp's text for each row, about 3 µs each on PostgreSQL: a chart of
a day in minutes reads thousands), and which bar or span a row falls in is
then integer arithmetic. ``Microseconds`` reads a duration the same way:
the pass takes a result's runtime and queue wait as two integers, not two
more timestamps to parse, with the very formula the rebuild uses
(``microseconds_sql``), so both count a duration in the same bin.
"""
from django.db import models
from django.utils.functional import cached_property


class WholeNumber(models.Func):
    """A function whose SQL gives an integer on every database: its values are read as they come.

    Without a converter Django passes every row through ``int()`` and its
    converter loop: 5 ms of a 30-day task-names view (1,800 rows).
    """

    output_field = models.BigIntegerField()

    @cached_property
    def convert_value(self):
        return self._convert_value_noop


class EpochSeconds(WholeNumber):
    """Whole seconds from 1970-01-01 00:00 UTC to a datetime column (stored in UTC)."""

    arity = 1

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="CAST(EXTRACT(EPOCH FROM %(expressions)s) AS bigint)")

    def as_mysql(self, compiler, connection, **extra_context):
        # Not UNIX_TIMESTAMP(): it reads the value in the session's time zone.
        return self.as_sql(compiler, connection, template="TIMESTAMPDIFF(SECOND, '1970-01-01', %(expressions)s)")

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="CAST(strftime('%%%%s', %(expressions)s) AS integer)")


def microseconds_sql(vendor: str, later: str, earlier: str) -> str:
    """SQL of the whole microseconds from ``earlier`` to ``later`` (NULL when either is)."""
    if vendor == "postgresql":
        # date_part gives the interval's seconds as a double (EXTRACT's numeric is slower): microseconds
        # below 2**53, so rounding them back is exact
        return f"CAST(round(date_part('epoch', {later} - {earlier}) * 1000000) AS bigint)"
    if vendor == "mysql":
        return f"TIMESTAMPDIFF(MICROSECOND, {earlier}, {later})"
    return f"django_timestamp_diff({later}, {earlier})"  # Django's SQLite function


class Microseconds(WholeNumber):
    """Whole microseconds from the second datetime to the first (``Microseconds("date_done", "date_started")``)."""

    arity = 2

    def as_sql(self, compiler, connection, **extra_context):
        (later, later_params), (earlier, earlier_params) = (
            compiler.compile(expression) for expression in self.get_source_expressions()
        )
        sql = microseconds_sql(connection.vendor, later, earlier)
        params = (*earlier_params, *later_params) if connection.vendor == "mysql" else (*later_params, *earlier_params)
        return sql, params

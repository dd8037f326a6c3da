"""Database functions the statistics' reads use.

``EpochSeconds`` reads a bucket's start as whole seconds since 1970 (UTC):
an integer comes back far cheaper than a datetime (the drivers parse a
timestamp's text for each row, about 3 µs each on PostgreSQL: a chart of
a day in minutes reads thousands), and which bar or span a row falls in is
then integer arithmetic.
"""
from django.db import models


class EpochSeconds(models.Func):
    """Whole seconds from 1970-01-01 00:00 UTC to a datetime column (stored in UTC)."""

    output_field = models.BigIntegerField()
    arity = 1

    def as_postgresql(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="CAST(EXTRACT(EPOCH FROM %(expressions)s) AS bigint)")

    def as_mysql(self, compiler, connection, **extra_context):
        # Not UNIX_TIMESTAMP(): it reads the value in the session's time zone.
        return self.as_sql(compiler, connection, template="TIMESTAMPDIFF(SECOND, '1970-01-01', %(expressions)s)")

    def as_sqlite(self, compiler, connection, **extra_context):
        return self.as_sql(compiler, connection, template="CAST(strftime('%%%%s', %(expressions)s) AS integer)")

"""Large tables for tests, seeded by the database server itself.

Building hundreds of thousands of model instances in Python costs the
suite tens of seconds per database; one ``INSERT ... SELECT`` over a
generated series of numbers costs a second or two.
"""
from celery import states
from django.db import connection

from results.models import TaskResult


def series(count):
    """``WITH ... seq(n)``: the numbers 0 to ``count - 1``, on SQLite, PostgreSQL and MariaDB alike.

    A cross join of the ten digits, once per decimal place: no recursion,
    whose depth MariaDB limits (``max_recursive_iterations``).
    """
    places = len(str(max(count - 1, 0)))
    digits = " UNION ALL ".join(f"SELECT {d}" for d in range(10))
    number = " + ".join(f"d{p}.d * {10 ** p}" for p in range(places))
    tables = ", ".join(f"digits d{p}" for p in range(places))
    return (
        f"WITH digits(d) AS ({digits}), "
        f"seq(n) AS (SELECT {number} FROM {tables}) "
    )


def insert_task_rows(count, date_done, prefix="bulk-", status=states.SUCCESS):
    """Insert ``count`` task results ``<prefix>0`` ... in one statement, all done at ``date_done``."""
    task_id = "CONCAT(%s, n)" if connection.vendor == "mysql" else "%s || n"
    when = connection.ops.adapt_datetimefield_value(date_done)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TaskResult._meta.db_table} "
            "(task_id, status, content_type, content_encoding, date_created, date_done) "
            f"{series(count)} SELECT {task_id}, %s, '', '', %s, %s FROM seq WHERE n < %s",
            [prefix, status, when, when, count],
        )

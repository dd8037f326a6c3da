"""Database helpers for bulk loads: keep the generated dates, refresh the planner's statistics."""
from contextlib import contextmanager

from django.db import connections


@contextmanager
def dates_as_given(*models):
    """Let ``bulk_create`` store the generated dates instead of stamping the current time.

    ``auto_now``/``auto_now_add`` are switched off on the models' date
    fields for the duration, process-wide: use it in a command or a test
    set-up, not next to threads saving the same models.
    """
    fields = [
        field
        for model in models
        for field in model._meta.concrete_fields
        if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
    ]
    saved = [(field, field.auto_now, field.auto_now_add) for field in fields]
    for field in fields:
        field.auto_now = field.auto_now_add = False
    try:
        yield
    finally:
        for field, auto_now, auto_now_add in saved:
            field.auto_now, field.auto_now_add = auto_now, auto_now_add


def analyze_tables(using, *models):
    """Refresh the planner's statistics (and row estimates) of the models' tables.

    On MySQL/MariaDB ``ANALYZE TABLE`` commits the open transaction, so
    inside an atomic block it is left to the server's own statistics.
    """
    connection = connections[using]
    if connection.vendor == "mysql" and connection.in_atomic_block:
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        for model in models:
            table = quote(model._meta.db_table)
            if connection.vendor == "mysql":
                cursor.execute(f"ANALYZE TABLE {table}")
                cursor.fetchall()
            else:
                cursor.execute(f"ANALYZE {table}")

"""Writing the rows the pass computed itself: one multi-row ``INSERT`` per batch, without the ORM's per-value work.

A pass writes a few thousand rows (buckets, the recount log, activities)
whose values it already holds; ``bulk_create``/``bulk_update`` spend more
time preparing them in Python (``bulk_update``'s ``CASE`` expressions above
all) than the database spends writing them.
"""
import json
from datetime import datetime

from django.db import connections, models
from django.db.models.constants import OnConflict


def insert(model, objects, using, unique_fields=None, update_fields=None, add_fields=None) -> None:
    """Insert ``objects`` (every concrete field but an automatic primary key).

    With ``unique_fields`` and ``update_fields``, an upsert: where a row
    with the same ``unique_fields`` exists its ``update_fields`` take the
    new values (``ON CONFLICT DO UPDATE``, ``ON DUPLICATE KEY UPDATE`` on
    MySQL). Exact because the pass computed those values from the rows it
    read, and passes are serialised: nothing else changes them meanwhile.
    With ``add_fields`` instead, the new values are added to the row's
    (``count = count + the new count``): no need to read the row first.
    """
    if not objects:
        return
    connection = connections[using]
    opts = model._meta
    fields = [field for field in opts.concrete_fields if not isinstance(field, models.AutoField)]
    suffix = ""
    if update_fields:
        suffix = " " + connection.ops.on_conflict_suffix_sql(
            fields, OnConflict.UPDATE, [opts.get_field(name).column for name in update_fields],
            [opts.get_field(name).column for name in unique_fields],
        )
    elif add_fields:
        suffix = " " + _adding_suffix(connection, opts, unique_fields, add_fields)
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = "(" + ", ".join(["%s"] * len(fields)) + ")"
    adapters = [(field.attname, _adapter(field, connection)) for field in fields]
    if connection.vendor == "postgresql":
        _insert_json(connection, opts.db_table, fields, adapters, objects, suffix)
        return
    batch = max(1, min(1000, connection.ops.bulk_batch_size(fields, objects)))
    with connection.cursor() as cursor:
        for start in range(0, len(objects), batch):
            chunk = objects[start : start + batch]
            params = [
                adapt(getattr(obj, attname)) for obj in chunk for attname, adapt in adapters
            ]
            cursor.execute(
                f"INSERT INTO {quote(opts.db_table)} ({columns}) VALUES {', '.join([placeholders] * len(chunk))}"
                f"{suffix}",
                params,
            )


#: Rows per statement on PostgreSQL (one JSON text, whatever the rows).
JSON_BATCH = 10_000


def _insert_json(connection, table, fields, adapters, objects, suffix):
    """PostgreSQL: ``INSERT ... SELECT ... FROM json_populate_recordset(NULL::table, %s)``: the rows as one text.

    A multi-row ``VALUES`` of a thousand rows has thousands of placeholders,
    which the driver parses on every statement (too long for its cache); an
    array per column is quoted element by element by the driver, in Python.
    One JSON text is written by ``json.dumps`` and quoted once, and the
    database reads it into rows of the table's own column types.
    """
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    names = [(field.column, attname, adapt) for field, (attname, adapt) in zip(fields, adapters, strict=True)]
    sql = (f"INSERT INTO {quote(table)} ({columns}) SELECT {columns}"
           f" FROM json_populate_recordset(NULL::{quote(table)}, %s){suffix}")
    with connection.cursor() as cursor:
        for start in range(0, len(objects), JSON_BATCH):
            chunk = objects[start : start + JSON_BATCH]
            rows = [{column: adapt(getattr(obj, attname)) for column, attname, adapt in names} for obj in chunk]
            cursor.execute(sql, [json.dumps(rows, default=_json_default)])


def _json_default(value):
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not a value the statistics write")


def _adding_suffix(connection, opts, unique_fields, add_fields):
    """``ON CONFLICT ... DO UPDATE SET c = c + new c`` in the database's own words, for each of ``add_fields``."""
    quote = connection.ops.quote_name
    added = [quote(opts.get_field(name).column) for name in add_fields]
    if connection.vendor == "mysql":
        return "ON DUPLICATE KEY UPDATE " + ", ".join(f"{c} = {c} + VALUES({c})" for c in added)
    conflict = ", ".join(quote(opts.get_field(name).column) for name in unique_fields)
    table = quote(opts.db_table)
    return f"ON CONFLICT({conflict}) DO UPDATE SET " + ", ".join(f"{c} = {table}.{c} + EXCLUDED.{c}" for c in added)


def _adapter(field, connection):
    if isinstance(field, models.DateTimeField):
        return connection.ops.adapt_datetimefield_value
    return lambda value: value


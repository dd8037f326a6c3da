"""PostgreSQL: a covering index of the failure groups' buckets, for the failures list's totals.

The failures list sums each cause's buckets over its window
(``statistics.queries.totals_by_key``): twenty thousand rows for a day at a
thousand causes, spread over the whole table's heap among the other
dimensions' buckets. With ``key``, ``status`` and ``count`` in the index
those sums are index-only scans. Partial (the failure dimension only) and
PostgreSQL only: ``INCLUDE`` and partial indexes are PostgreSQL's, and the
other databases read few enough of these rows without it.
"""
from django.db import migrations

INDEX = "dashboard_bucket_failure_totals"


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("dashboard", "Bucket")._meta.db_table)
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON {table} (granularity, start) INCLUDE (key, status, count)"
        f" WHERE dimension = 'f'"
    )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):

    dependencies = [
        ("dashboard", "0008_failure_group_redrives"),
    ]

    operations = [migrations.RunPython(create, drop)]

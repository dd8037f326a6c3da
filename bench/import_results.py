"""Benchmark: ``manage.py import_celery_results`` copying django-celery-results' task results (rows/s).

Seeds ``--rows`` rows server-side (``INSERT ... SELECT`` over ``generate_series``) into a table named and shaped as
the reference's ``django_celery_results_taskresult`` (its 2.6.0 columns, types and unique key) in the database
``--database-url`` names (PostgreSQL; made if missing), empties this app's table, then times the import into it
(goal: >= 50,000 rows/s), and a second run over the same rows (every row already there: the upsert keeps it).
"""
import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from insights import setup_django  # noqa: E402  (the same database set-up as the insights benchmark)

REFERENCE_TABLE = """
CREATE TABLE django_celery_results_taskresult (
    id serial PRIMARY KEY,
    task_id varchar(255) NOT NULL UNIQUE,
    periodic_task_name varchar(255) NULL,
    task_name varchar(255) NULL,
    task_args text NULL,
    task_kwargs text NULL,
    status varchar(50) NOT NULL,
    worker varchar(100) NULL,
    content_type varchar(128) NOT NULL,
    content_encoding varchar(64) NOT NULL,
    result text NULL,
    date_created timestamp with time zone NOT NULL,
    date_started timestamp with time zone NULL,
    date_done timestamp with time zone NOT NULL,
    traceback text NULL,
    meta text NULL
)
"""

SEED = """
INSERT INTO django_celery_results_taskresult (task_id, periodic_task_name, task_name, task_args, task_kwargs,
    status, worker, content_type, content_encoding, result, date_created, date_started, date_done, traceback, meta)
SELECT 'ref-' || i, CASE WHEN i %% 50 = 0 THEN 'nightly' END, 'shop.task_' || (i %% 40), '(' || i || ', ''sku'')',
    '{}', (ARRAY['SUCCESS', 'SUCCESS', 'SUCCESS', 'FAILURE', 'REVOKED'])[1 + i %% 5], 'celery@w' || (i %% 8),
    'application/json', 'utf-8', '{"total": ' || i || '}',
    now() - interval '30 days' + i * interval '2 seconds',
    now() - interval '30 days' + i * interval '2 seconds' + interval '10 ms',
    now() - interval '30 days' + i * interval '2 seconds' + interval '250 ms',
    CASE WHEN i %% 5 = 3 THEN repeat('  File "/srv/app/shop/orders.py", line 12, in total' || chr(10), 8)
        || 'KeyError: ''sku-' || i || '''' END,
    '{"children": []}'
FROM generate_series(1, %s) AS i
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/dash_import")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    setup_django(args.database_url)

    from django.core.management import call_command
    from django.db import connection

    from results import importing
    from results.models import TaskResult

    if connection.vendor != "postgresql":
        raise SystemExit("bench/import_results.py seeds with generate_series: PostgreSQL only (--database-url)")
    call_command("migrate", verbosity=0)
    print(f"database: PostgreSQL {connection.cursor().connection.info.server_version}"
          f" {connection.settings_dict['NAME']}; {os.cpu_count()} CPUs, load average"
          f" {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS django_celery_results_taskresult")
        cursor.execute(REFERENCE_TABLE)
        start = time.perf_counter()
        cursor.execute(SEED, [args.rows])
        cursor.execute("ANALYZE django_celery_results_taskresult")
        print(f"seeded {args.rows:,} reference rows in {time.perf_counter() - start:.1f} s")
        cursor.execute(f"TRUNCATE {connection.ops.quote_name(TaskResult._meta.db_table)}")
    importer = importing.Importer(batch_size=args.batch_size or importing.BATCH_SIZE,
                                  workers=args.workers or importing.WORKERS)
    print(f"batches of {importer.batch_size:,} rows, {importer.workers} at once")
    table = importing.TABLES[0]
    for label in ("first import (every row new)", "second run (every row already here)"):
        start = time.perf_counter()
        copied = importer.copy(table)
        elapsed = time.perf_counter() - start
        print(f"{label}: {copied.rows:,} rows in {elapsed:.1f} s: {copied.rows / elapsed:,.0f} rows/s"
              f" (goal >= 50,000 rows/s)")
    print(f"rows in {TaskResult._meta.db_table}: {TaskResult.objects.count():,}")


if __name__ == "__main__":
    main()

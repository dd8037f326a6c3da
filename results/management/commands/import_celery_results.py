"""``manage.py import_celery_results``: bring the results stored by django-celery-results into this app's tables.

Task results, group results and chord counters are copied from the
reference's tables (read by name: it need not be installed) in batches,
upserted by task or group id (``results.importing``): run it again after an
interruption, or while both run side by side, and nothing is doubled or
lost. ``--database`` names the database alias holding the reference's
tables when it is not this app's own.
"""
from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from results.importing import BATCH_SIZE, WORKERS, Importer, SourceMissing
from results.progress import Progress


class Command(BaseCommand):
    help = "Copy django-celery-results' stored results (task, group, chord counter tables) into this app's tables."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default",
                            help="the database alias holding django-celery-results' tables (default: default)")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, help=f"rows per batch ({BATCH_SIZE:,})")
        parser.add_argument("--workers", type=int, default=WORKERS,
                            help=f"batches copied at once, each on its own connection ({WORKERS}; SQLite: 1)")

    def handle(self, *args, **options):
        if options["database"] not in connections:
            raise CommandError(f"No database alias {options['database']!r} in DATABASES.")
        if options["batch_size"] < 1 or options["workers"] < 1:
            raise CommandError("--batch-size and --workers must be at least 1.")
        importer = Importer(options["database"], batch_size=options["batch_size"], workers=options["workers"])
        try:
            tables = importer.present()
        except SourceMissing as missing:
            raise CommandError(str(missing)) from None
        for table in tables:
            total = importer.count(table)
            self.stdout.write(f"{table.name}: {total:,} rows into {table.model._meta.db_table}")
            progress = Progress(self.stderr, total, verb="read") if options["verbosity"] else None
            try:
                copied = importer.copy(table, progress=progress)
            except SourceMissing as missing:
                raise CommandError(str(missing)) from None
            if progress is not None:
                progress.finish(copied.rows)
        self.stdout.write(
            "Imported. Statistics counted from the results (the dashboard's insights) do not see rows stored in "
            "the past: rebuild them (manage.py rollup --rebuild)."
        )

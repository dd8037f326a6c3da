"""``manage.py demo``: fill the dashboard with demo data.

``--tasks N`` bulk-writes N realistic task results of a fictional shop
(see ``demo.seed``), for a look at the dashboard at a larger size.
"""
import random
import time

from django.core.management.base import BaseCommand, CommandError

from demo.seed import DEFAULT_BATCH_SIZE, DEFAULT_DAYS, seed_tasks

PROGRESS_EVERY = 5.0  # seconds between progress lines


class Command(BaseCommand):
    help = "Seed N realistic task results (--tasks N)."

    def add_arguments(self, parser):
        parser.add_argument("--tasks", type=int, metavar="N", help="write N seeded task results")
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="spread them over the last DAYS days")
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="rows per INSERT and transaction")
        parser.add_argument("--seed", type=int, help="seed of the random generator, to reproduce a data set")
        parser.add_argument("--database", default=None, help="database alias to write to")

    def handle(self, *args, **options):
        count = options["tasks"]
        if count is None:
            raise CommandError("Say what to do: --tasks N seeds N task results.")
        if count < 0:
            raise CommandError("--tasks must be zero or more.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        if options["days"] < 1:
            raise CommandError("--days must be at least 1.")
        self.seed(count, options)

    def seed(self, count, options):
        rng = random.Random(options["seed"])
        started = time.monotonic()
        self.stdout.write(f"Seeding {count:,} task results over the last {options['days']} days...")

        last_report = [started]

        def progress(written, total):
            now = time.monotonic()
            if written < total and now - last_report[0] < PROGRESS_EVERY:
                return
            last_report[0] = now
            elapsed = now - started
            rate = written / elapsed if elapsed else 0
            self.stdout.write(
                f"  {written:>12,} / {total:,} ({100 * written / total:5.1f}%)  {rate:,.0f} rows/s"
            )

        written = seed_tasks(
            count,
            batch_size=options["batch_size"],
            days=options["days"],
            rng=rng,
            using=options["database"],
            progress=progress if options["verbosity"] else None,
        )
        self.stdout.write(
            self.style.SUCCESS(f"Wrote {written:,} task results in {time.monotonic() - started:.1f} s.")
        )

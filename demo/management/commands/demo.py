"""``manage.py demo``: fill the dashboard with demo data.

``--tasks N`` bulk-writes N realistic task results of a fictional shop
(see ``demo.seed``), for a look at the dashboard at a larger size.
``--send`` sends the demo mix of real tasks to the workers (``demo.mix``);
``--trickle SECONDS`` then keeps sending, one scenario every few seconds,
until interrupted. Both need a running worker to produce results.
"""
import random
import signal
import time

from django.core.management.base import BaseCommand, CommandError

from demo import mix
from demo.seed import DEFAULT_BATCH_SIZE, DEFAULT_DAYS, seed_tasks

PROGRESS_EVERY = 5.0  # seconds between progress lines


class Command(BaseCommand):
    help = "Seed N realistic task results (--tasks N), or send real demo tasks (--send, --trickle SECONDS)."

    def add_arguments(self, parser):
        parser.add_argument("--tasks", type=int, metavar="N", help="write N seeded task results")
        parser.add_argument("--send", action="store_true", help="send the demo mix of real tasks once")
        parser.add_argument(
            "--trickle", type=float, metavar="SECONDS", help="keep sending a demo task about every SECONDS seconds"
        )
        parser.add_argument("--days", type=int, default=DEFAULT_DAYS, help="spread them over the last DAYS days")
        parser.add_argument(
            "--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="rows per INSERT and transaction"
        )
        parser.add_argument("--seed", type=int, help="seed of the random generator, to reproduce a data set")
        parser.add_argument("--database", default=None, help="database alias to write to")

    def handle(self, *args, **options):
        count, trickle = options["tasks"], options["trickle"]
        if count is None and not options["send"] and trickle is None:
            raise CommandError(
                "Say what to do: --tasks N seeds N task results; --send and --trickle SECONDS send real tasks."
            )
        if count is not None and count < 0:
            raise CommandError("--tasks must be zero or more.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        if options["days"] < 1:
            raise CommandError("--days must be at least 1.")
        if trickle is not None and trickle <= 0:
            raise CommandError("--trickle must be a positive number of seconds.")
        if count is not None:
            self.seed(count, options)
        rng = random.Random(options["seed"])
        if options["send"]:
            total = mix.send_burst(rng, report=self.report)
            self.stdout.write(self.style.SUCCESS(f"Sent the demo mix: {total} tasks."))
        if trickle is not None:
            self.trickle(rng, trickle)

    def report(self, sent):
        self.stdout.write(f"  sent {sent.description}")

    def trickle(self, rng, interval):
        """Send until Ctrl-C or SIGTERM (how ``rundemo`` stops it), then return quietly."""
        stopping = []
        previous = signal.signal(signal.SIGTERM, lambda signum, frame: stopping.append(signum))
        self.stdout.write(f"Sending a demo task about every {interval:g} s; Ctrl-C stops.")
        try:
            mix.trickle(rng, interval, report=self.report, should_stop=lambda: bool(stopping))
        except KeyboardInterrupt:
            pass
        finally:
            signal.signal(signal.SIGTERM, previous)
        self.stdout.write("Stopped sending.")

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

"""``manage.py rollup``: bring the insights' figures up to date now.

Runs statistics passes until every ready result older than the lag is
counted, with a progress bar on a terminal (rows done, rate, time left)
and a plain line every few seconds otherwise. ``--rebuild`` forgets every
figure first and counts the whole results table again; ``--prune`` also
drops figures past their retention.
"""
from django.core.management.base import BaseCommand

from dashboard.statistics import rebuild, rollup
from results.models import TaskResult
from results.progress import Progress


class Command(BaseCommand):
    help = "Count the results that became ready since the last statistics pass (all of them with --rebuild)."

    def add_arguments(self, parser):
        parser.add_argument("--rebuild", action="store_true", help="forget every figure and count everything again")
        parser.add_argument("--prune", action="store_true", help="also drop figures older than their retention")
        parser.add_argument("--max-rows", type=int, help="stop after this many rows")

    def handle(self, *args, **options):
        if options["rebuild"]:
            ready = TaskResult.objects.filter(status__in=rollup.READY_STATES)
            progress = Progress(self.stderr, ready.count()) if options["verbosity"] else None
            done = rebuild.rebuild(progress=progress)
            if progress is not None:
                progress.finish(done)
        state = rollup.rollup_state()
        todo = TaskResult.objects.filter(status__in=rollup.READY_STATES)
        if state.done_until is not None:
            todo = todo.filter(date_done__gte=state.done_until)
        progress = Progress(self.stderr, todo.count()) if options["verbosity"] else None
        done = rollup.catch_up(max_rows=options["max_rows"], progress=progress)
        if progress is not None:
            progress.finish(done)
        if options["prune"]:
            while rollup.prune():
                pass
        self.stdout.write(f"Statistics up to {rollup.rollup_state().done_until or 'nothing yet'}.")

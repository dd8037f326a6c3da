"""Benchmark: where the time of an incremental statistics pass goes, step by step.

    .venv/bin/python bench/pass_phases.py [--database-url URL] [--passes N] [--rows N]

Run it on a database ``bench/insights.py`` has seeded and built (it adds
rows but empties nothing). Each pass first gets ``--rows`` new results
after the watermark, as ``insights.py``'s section 3 does (10 % failures,
each with its own cause of the seed's), then ``rollup.run_pass`` runs with
its steps timed from the outside: the module functions it calls are
wrapped for the run, nothing in the pass itself changes. Prints the median
and every figure of each step, the first two passes left out of the
medians (they warm the caches). Figures only, nothing asserted.

What it told on PostgreSQL 15 at 1M rows, 1,000 rows a pass: the bucket
upsert is the largest step, and seven in ten of its rows are the
failure groups' (a hundred groups a pass, at four granularities each).
"""
import argparse
import statistics
import sys
import time
from collections import defaultdict
from contextlib import ExitStack, contextmanager
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import insights  # noqa: E402  (bench/ is not a package on the path)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=insights.DEFAULT_URL)
    parser.add_argument("--passes", type=int, default=10)
    parser.add_argument("--rows", type=int, default=1000, help="new results before each pass")
    args = parser.parse_args()
    if args.passes < 1 or args.rows < 1:
        parser.error("--passes and --rows are counts of at least 1")
    return args


@contextmanager
def timed_calls(owner, name, label, spent):
    """``owner.name`` wrapped meanwhile: each call's milliseconds appended to ``spent[label]``."""
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label].append((time.perf_counter() - start) * 1000)

    setattr(owner, name, wrapper)
    try:
        yield
    finally:
        setattr(owner, name, original)


def steps():
    """``(owner, attribute, label)`` of every step timed, in the order the pass runs them."""
    from dashboard.statistics import activity, failures, rollup

    return [
        (rollup, "_remembered", "recount log read"),
        (failures, "fingerprint_rows", "failures fingerprinted"),
        (rollup.Deltas, "_existing", "buckets read"),
        (rollup.Deltas, "apply", "buckets written (read included)"),
        (activity, "record", "activity"),
        (failures, "record", "failure groups"),
        (rollup, "run_pass", "whole pass"),
    ]


def main():
    args = parse_args()
    insights.setup_django(args.database_url)
    from django.db.models import Count

    from dashboard.models import Bucket
    from dashboard.statistics import rollup
    from dashboard.statistics.buckets import MINUTE, floor_to

    spent = defaultdict(list)
    with ExitStack() as stack:
        for owner, name, label in steps():
            stack.enter_context(timed_calls(owner, name, label, spent))
        for _attempt in range(args.passes):
            since, moment = insights.rows_arriving(args.rows)
            rollup.run_pass(now=moment)
    minutes = Bucket.objects.filter(
        granularity=MINUTE, start__gte=floor_to(since, timedelta(minutes=1)), start__lt=moment
    )
    per_dimension = minutes.order_by().values("dimension").annotate(n=Count("id")).values_list("dimension", "n")
    print(f"{args.passes} passes of {args.rows:,} new rows; ms, median of passes 3 on, then every pass")
    for _owner, _name, label in steps():
        values = spent[label]
        middle = statistics.median(values[2:] or values)
        print(f"  {label:34} {middle:7.1f}   {' '.join(f'{value:.0f}' for value in values)}")
    rows = ", ".join(f"{dimension} {count:,}" for dimension, count in sorted(per_dimension))
    print(f"minute buckets in the last pass's minutes, per dimension: {rows}"
          " (earlier passes' rows share them; each is written at four granularities)")


if __name__ == "__main__":
    main()

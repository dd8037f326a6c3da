"""The Celery app ``bench/chords.py`` starts a worker of: results in the database, one queue of the run's own.

The broker and the queue come from ``BENCH_BROKER_URL`` and ``BENCH_QUEUE``;
the database from ``DATABASE_URL`` (the project's settings).
"""
from bench.worker_app import bench_app

app = bench_app("bench_chords", "bench-chords", prefetch_multiplier=1)


@app.task(name="bench.chords.part")
def part(index):
    return index


@app.task(name="bench.chords.body")
def body(values, log_path):
    """Appends one line per run to ``log_path``: the benchmark counts the body's runs."""
    with open(log_path, "a") as log:
        log.write(f"{len(values)} {sum(values)}\n")
    return len(values)

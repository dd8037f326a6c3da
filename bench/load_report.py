"""The figures ``bench/load.py`` prints: per kind of request and overall, beside the same run's baseline.

Latency is what the client saw (from sending the request to the last byte,
queueing in gunicorn's backlog included); "server" is gunicorn's own time
for the request (``%(D)s`` in its access log, from reading the request to
the last byte written), so their difference is time spent waiting for a
free worker, or for a CPU, outside the app's code.
"""
import re
from collections import defaultdict

#: gunicorn's ``--access-logformat``: status, microseconds, the client's kind of request.
ACCESS_LOG_FORMAT = '%(s)s %(D)s "%({x-bench-kind}i)s"'
ACCESS_LINE = re.compile(r'^(\d{3}) (\d+) "([^"]*)"$')


def percentile(values, share):
    """The nearest-rank percentile of ``values`` (None when empty)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(share * len(ordered) + 0.5)) - 1))]


def server_times(access_log_text):
    """``phase|kind`` -> [milliseconds] from gunicorn's access log (requests the clients named)."""
    times = defaultdict(list)
    for line in access_log_text.splitlines():
        found = ACCESS_LINE.match(line.strip())
        if found and found.group(3) not in ("", "-"):
            times[found.group(3)].append(int(found.group(2)) / 1000)
    return times


def _ms(value):
    return f"{value:8.1f}" if value is not None else f"{'-':>8}"


HEADER = (f"{'kind':<24} {'requests':>8} {'req/s':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
          f" {'srv p50':>8} {'srv p95':>8} {'errors':>6}")


def row(kind, samples, seconds, server):
    latencies = [latency for _kind, latency, _status in samples]
    errors = sum(1 for _kind, _latency, status in samples if status == 0 or status >= 400)
    return (f"{kind:<24} {len(samples):8,} {len(samples) / seconds:7.1f} {_ms(percentile(latencies, 0.50))}"
            f" {_ms(percentile(latencies, 0.95))} {_ms(percentile(latencies, 0.99))}"
            f" {_ms(percentile(server, 0.50))} {_ms(percentile(server, 0.95))} {errors:6,}")


def phase_table(phase, server_by_kind):
    """The phase's lines: one per kind (in the order first seen), then ``overall`` when there are several."""
    seconds = phase["ended"] - phase["started"]
    by_kind = defaultdict(list)
    for sample in phase["samples"]:
        by_kind[sample[0]].append(sample)
    def server(kind):
        return server_by_kind.get(f"{phase['name']}|{kind}", [])

    lines = [row(kind, samples, seconds, server(kind)) for kind, samples in sorted(by_kind.items())]
    if len(by_kind) > 1:
        every_server = [ms for kind in by_kind for ms in server(kind)]
        lines.append(row("overall", phase["samples"], seconds, every_server))
    return lines


def summary(phase):
    """``(requests/s, p50, p95, errors)`` of a whole phase."""
    latencies = [latency for _kind, latency, _status in phase["samples"]]
    seconds = phase["ended"] - phase["started"]
    errors = sum(1 for _kind, _latency, status in phase["samples"] if status == 0 or status >= 400)
    return len(latencies) / seconds, percentile(latencies, 0.50), percentile(latencies, 0.95), errors


def error_examples(phase, shown=3):
    """Up to ``shown`` examples per kind of what went wrong, with how many times."""
    by_kind = defaultdict(list)
    for kind, path, what in phase["errors"]:
        by_kind[kind].append((path, what))
    lines = []
    for kind, errors in sorted(by_kind.items()):
        lines.append(f"  {kind}: {len(errors):,} errors")
        for path, what in errors[:shown]:
            lines.append(f"    {path}  ->  {what[:200]}")
    return lines


def status_counts(phase):
    counts = defaultdict(int)
    for _kind, _latency, status in phase["samples"]:
        counts[status] += 1
    return ", ".join(f"{status or 'no answer'}: {count:,}" for status, count in sorted(counts.items()))

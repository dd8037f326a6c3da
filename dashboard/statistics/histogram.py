"""Mergeable histograms of durations, on fixed log-scale bins.

Bin 0 holds durations under ``SMALLEST`` milliseconds; bin ``b >= 1`` holds
``[SMALLEST * RATIO ** (b - 1), SMALLEST * RATIO ** b)``. Because the bins
are the same everywhere, the histograms of any set of buckets, task names
or workers are merged by adding their counts, and a percentile is read off
the merged counts. Reported as the geometric middle of its bin, a
percentile is within ``sqrt(RATIO) - 1`` (4.9 %) of the true value (and
within ``SMALLEST`` ms for durations below it).

A histogram is stored as text, ``"bin:count bin:count"`` with only the bins
that hold something: a task name's runtimes in one minute fill a handful.
"""
import math
from collections import Counter
from collections.abc import Iterable

SMALLEST = 0.1  # milliseconds
RATIO = 1.1
LAST_BIN = 260  # durations from about 20 days up share the last bin
RELATIVE_ERROR = math.sqrt(RATIO) - 1
_LOG_RATIO = math.log(RATIO)


def bin_of(milliseconds: float) -> int:
    """The bin a duration (in milliseconds, never negative) falls in."""
    if milliseconds < SMALLEST:
        return 0
    return min(1 + int(math.log(milliseconds / SMALLEST) / _LOG_RATIO), LAST_BIN)


def bin_value(bin_number: int) -> float:
    """The duration a bin stands for, in milliseconds: the geometric middle of its bounds."""
    if bin_number <= 0:
        return SMALLEST / 2
    return SMALLEST * RATIO ** (bin_number - 1) * math.sqrt(RATIO)


def encode(counts: Counter) -> str:
    return " ".join(f"{b}:{n}" for b, n in sorted(counts.items()) if n)


def decode(text: str | None) -> Counter:
    return merge([text])


def merge(texts: Iterable[str | None]) -> Counter:
    """The sum of stored histograms.

    The texts are joined and split once, and the counts summed under the
    bins' text (turned into numbers once, at the end): a page merges
    thousands of them.
    """
    total = {}
    get = total.get
    for item in " ".join([text for text in texts if text]).split():
        b, _, n = item.partition(":")
        total[b] = get(b, 0) + int(n)
    result = Counter()
    for b, n in total.items():
        result[int(b)] += n  # "07" and "7" are one bin
    return result


def percentile(counts: Counter, fraction: float) -> float | None:
    """The duration (ms) below which ``fraction`` of the counted durations fall; None when empty."""
    total = sum(counts.values())
    if total <= 0:
        return None
    rank = max(1, math.ceil(fraction * total))
    seen = 0
    for b in sorted(counts):
        seen += counts[b]
        if seen >= rank:
            return bin_value(b)
    return bin_value(max(counts))


def percentiles(counts: Counter, fractions: Iterable[float] = (0.5, 0.95, 0.99)) -> dict[float, float | None]:
    return {fraction: percentile(counts, fraction) for fraction in fractions}

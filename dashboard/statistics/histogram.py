"""Mergeable histograms of durations, on fixed log-scale bins.

Bin 0 holds durations under ``SMALLEST`` milliseconds; bin ``b >= 1`` holds
``[SMALLEST * RATIO ** (b - 1), SMALLEST * RATIO ** b)``. Because the bins
are the same everywhere, the histograms of any set of buckets, task names
or workers are merged by adding their counts, and a percentile is read off
the merged counts. Reported as the geometric middle of its bin, a
percentile is within ``sqrt(RATIO) - 1`` (4.9 %) of the true value (and
within ``SMALLEST`` ms for durations below it).

A histogram is stored as text, packed: ``"lo;"`` then, from its highest
non-empty bin down to its lowest (``lo``), each bin's count as ten hex
digits. Read as one hexadecimal number shifted by ``lo`` lanes of
``LANE_BITS`` bits, it is an integer holding every bin in a lane of its
own, so merging histograms is adding integers: a page merges thousands of
them, and one ``int(text, 16)`` and one addition each is about ten times
faster than reading their bins one by one. A lane holds up to 2**40 - 1
(about 10**12) tasks: merged figures stay exact below that many tasks.
The database builds the same text (``rebuild``) with an ordered string
aggregate.
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


LANE_BITS = 40
LANE_DIGITS = LANE_BITS // 4
_LANE_BYTES = LANE_BITS // 8


#: ``lane(b)``: one duration in bin ``b``, packed; precomputed (the pass adds one per row, dimension and histogram).
_LANES = tuple(1 << (LANE_BITS * b) for b in range(LAST_BIN + 1))


def lane(bin_number: int) -> int:
    """One duration in bin ``bin_number`` as a packed integer: added to a packed histogram, it counts there."""
    return _LANES[bin_number]


def encode(counts: Counter) -> str:
    """The stored text of ``counts`` (bins with a positive count only); ``""`` when there are none."""
    return encode_packed(pack(counts))


def encode_packed(total: int) -> str:
    """The stored text of a packed integer (``encode`` of its ``unpack``, without unpacking it)."""
    if total <= 0:
        return ""
    digits = format(total, "x")
    digits = "0" * (-len(digits) % LANE_DIGITS) + digits
    kept = digits.rstrip("0")
    empty_low_lanes = (len(digits) - len(kept)) // LANE_DIGITS  # whole empty lanes at the low end
    return f"{empty_low_lanes};{digits[: len(digits) - empty_low_lanes * LANE_DIGITS]}"


def add(text: str | None, added: int = 0, taken: int = 0) -> str:
    """A stored histogram with the packed counts ``added`` added and ``taken`` taken back.

    Both are sums of ``lane``s (never negative, so no lane borrows from
    the next). A count taken below zero is dropped.
    """
    total = (packed(text) if text else 0) + added
    if not taken:  # the usual case, kept packed
        return encode_packed(total) if added else text or ""
    counts = unpack(total)
    counts.subtract(unpack(taken))
    return encode(counts)


def decode(text: str | None) -> Counter:
    return merge([text])


def pack(counts: Counter) -> int:
    """``counts`` as one packed integer (its positive counts only)."""
    return sum(n << (LANE_BITS * b) for b, n in counts.items() if n > 0)


def packed(text: str) -> int:
    """A stored histogram as one integer, a lane of ``LANE_BITS`` bits per bin."""
    low, _, lanes = text.partition(";")
    return int(lanes, 16) << (LANE_BITS * int(low))


def merge(texts: Iterable[str | None]) -> Counter:
    """The sum of stored histograms: the sum of their packed integers, unpacked once."""
    return unpack(sum(packed(text) for text in texts if text))


def unpack(total: int) -> Counter:
    """``{bin: count}`` of a packed integer, its bins ascending.

    The integer is turned into bytes once and each lane read from its own
    five bytes, rather than shifting a 10,000-bit integer down lane by lane
    (a copy of it per lane): 1.3 to 1.8 times faster.
    """
    if total <= 0:
        return Counter()
    data = total.to_bytes(-(-total.bit_length() // LANE_BITS) * _LANE_BYTES, "little")
    read = int.from_bytes
    return Counter({
        b: n for b, start in enumerate(range(0, len(data), _LANE_BYTES))
        if (n := read(data[start : start + _LANE_BYTES], "little"))
    })


def percentile(counts: Counter, fraction: float) -> float | None:
    """The duration (ms) below which ``fraction`` of the counted durations fall; None when empty."""
    return percentiles(counts, (fraction,))[fraction]


def percentiles(counts: Counter, fractions: Iterable[float] = (0.5, 0.95, 0.99)) -> dict[float, float | None]:
    """``{fraction: percentile(counts, fraction)}``, all read in one walk up the bins."""
    fractions = tuple(fractions)
    total = sum(counts.values())
    if total <= 0:
        return dict.fromkeys(fractions)
    wanted = sorted((max(1, math.ceil(fraction * total)), fraction) for fraction in fractions)
    result, seen, i = {}, 0, 0
    for b in sorted(counts):
        seen += counts[b]
        while i < len(wanted) and seen >= wanted[i][0]:
            result[wanted[i][1]] = bin_value(b)
            i += 1
        if i == len(wanted):
            break
    last = bin_value(max(counts))
    return {fraction: result.get(fraction, last) for fraction in fractions}

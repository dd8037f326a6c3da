"""Log-scale histograms: bins, merging, and percentiles within the stated error."""
import math
import random
from collections import Counter

import pytest

from dashboard.statistics import histogram


def exact_percentile(values, fraction):
    ordered = sorted(values)
    return ordered[max(1, math.ceil(fraction * len(ordered))) - 1]


def test_bins_cover_every_duration_in_order():
    durations = [0, 0.05, 0.1, 0.11, 1, 10, 999, 1e6, 1e12]
    bins = [histogram.bin_of(d) for d in durations]
    assert bins == sorted(bins) and bins[0] == 0 and bins[-1] == histogram.LAST_BIN


@pytest.mark.parametrize("milliseconds", [0.1, 0.37, 1, 12.5, 480, 3_600_000])
def test_a_bin_stands_for_its_durations_within_the_error(milliseconds):
    value = histogram.bin_value(histogram.bin_of(milliseconds))
    assert abs(value - milliseconds) / milliseconds <= histogram.RELATIVE_ERROR + 1e-9


def test_encode_decode_round_trip_and_merge_adds():
    first, second = Counter({3: 2, 10: 1}), Counter({10: 4, 200: 1})
    assert histogram.decode(histogram.encode(first)) == first
    assert histogram.merge([histogram.encode(first), histogram.encode(second), "", None]) == first + second
    assert histogram.encode(Counter()) == "" and histogram.decode("") == Counter()


def test_the_packed_text_holds_a_lane_per_bin_from_the_highest_down():
    assert histogram.encode(Counter({3: 2, 5: 17, 4: 0, 9: -1})) == "3;" + "0000000011" + "0000000000" + "0000000002"
    assert histogram.packed("3;000000001100000000000000000002") == (17 << (2 * 40 + 3 * 40)) + (2 << (3 * 40))


def test_merging_is_exact_up_to_a_lanes_capacity():
    full = Counter({0: 2**40 - 2, histogram.LAST_BIN: 2**40 - 2, 100: 7})
    merged = histogram.merge([histogram.encode(full), histogram.encode(Counter({0: 1, histogram.LAST_BIN: 1}))])
    assert merged == Counter({0: 2**40 - 1, histogram.LAST_BIN: 2**40 - 1, 100: 7})


@pytest.mark.parametrize("seed", range(5))
def test_percentiles_of_merged_histograms_are_within_the_stated_error(seed):
    rng = random.Random(seed)
    values = [rng.lognormvariate(4, 1.5) for _ in range(5000)]
    parts = [Counter(histogram.bin_of(v) for v in values[i::7]) for i in range(7)]
    merged = histogram.merge(histogram.encode(part) for part in parts)
    for fraction in (0.5, 0.95, 0.99):
        exact = exact_percentile(values, fraction)
        approximate = histogram.percentile(merged, fraction)
        assert abs(approximate - exact) / exact <= histogram.RELATIVE_ERROR + 1e-9, fraction
    assert histogram.percentile(Counter(), 0.5) is None


@pytest.mark.parametrize("seed", range(20))
def test_adding_to_a_stored_histogram_equals_encoding_the_sum(seed):
    rng = random.Random(seed)
    stored = Counter({rng.randint(0, histogram.LAST_BIN): rng.randint(1, 10**6) for _ in range(rng.randint(0, 40))})
    more = Counter({rng.randint(0, histogram.LAST_BIN): rng.randint(1, 9) for _ in range(rng.randint(1, 6))})
    text = histogram.encode(stored)
    assert histogram.add(text, histogram.pack(more)) == histogram.encode(stored + more)
    assert histogram.add(text) == text
    assert histogram.encode_packed(histogram.packed(text) if text else 0) == text
    taken_back = Counter({b: stored[b] + 1 for b in list(stored)[:2]})  # more than was there: dropped
    expected = Counter(stored + more)
    expected.subtract(taken_back)
    assert histogram.add(text, histogram.pack(more), histogram.pack(taken_back)) == histogram.encode(expected)
    one_more = sum(histogram.lane(b) for b in more.elements())  # what the pass adds, a duration at a time
    assert histogram.add(text, one_more) == histogram.encode(stored + more)


@pytest.mark.parametrize("seed", range(10))
def test_percentiles_read_in_one_walk_are_each_fractions_ranked_bin(seed):
    rng = random.Random(seed)
    counts = Counter({rng.randint(0, histogram.LAST_BIN): rng.randint(1, 50) for _ in range(rng.randint(1, 30))})
    fractions = (0.99, 0.0, 0.5, 1.0, 0.95, rng.random())
    total, ordered = sum(counts.values()), sorted(counts)

    def ranked(fraction):
        rank, seen = max(1, math.ceil(fraction * total)), 0
        for b in ordered:
            seen += counts[b]
            if seen >= rank:
                return histogram.bin_value(b)

    assert histogram.percentiles(counts, fractions) == {fraction: ranked(fraction) for fraction in fractions}
    assert histogram.percentiles(Counter(), fractions) == dict.fromkeys(fractions)

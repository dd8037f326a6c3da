"""``dashboard.reports``: how headline changes read, and the charts' state order."""
from collections import Counter

import pytest

from dashboard.reports import Headline, ordered_states
from dashboard.statistics.queries import Figures


@pytest.mark.parametrize(
    ("current", "previous", "worse", "change", "tone"),
    [
        (120, 100, True, 0.2, "bad"),
        (80, 100, True, -0.2, "ok"),
        (120, 100, False, 0.2, ""),  # more tasks finished is neither good nor bad
        (100.2, 100, True, 0.002, ""),  # flat
        (5, 0, True, None, ""),  # no figure before: no ratio
        (None, 100, True, None, ""),
    ],
)
def test_a_headline_change_is_relative_and_toned_only_when_higher_is_worse(current, previous, worse, change, tone):
    headline = Headline("x", "ms", current, previous, worse)
    assert headline.change == (pytest.approx(change) if change is not None else None)
    assert headline.tone == tone


def test_states_are_ordered_as_the_charts_stack_them_with_custom_states_last():
    counts = [Counter({"FAILURE": 2, "SUCCESS": 1}), Counter({"ZEBRA": 1, "REVOKED": 0, "ALPHA": 3})]
    assert ordered_states(counts) == ["SUCCESS", "FAILURE", "ALPHA", "ZEBRA"]


def test_figures_have_no_failure_rate_without_tasks():
    assert Figures(Counter(), Counter(), Counter()).failure_rate is None
    assert Figures(Counter({"FAILURE": 1, "SUCCESS": 3}), Counter(), Counter()).failure_rate == 0.25

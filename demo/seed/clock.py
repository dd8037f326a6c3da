"""The traffic clock: when, over the last days, each generated task ran.

A shop's traffic has a daily rhythm (quiet at night, busiest late in the
morning) and quieter weekends. ``TrafficClock`` turns that rhythm into a
mapping from a share of the rows to a moment, so that rows generated in
order are spread over time the way real traffic is.
"""
from bisect import bisect_right
from datetime import timedelta
from itertools import accumulate

# Share of each hour of the day (UTC) in the traffic, and of weekend days.
HOURLY_TRAFFIC = (
    0.30, 0.25, 0.20, 0.20, 0.25, 0.35, 0.55, 0.80, 1.00, 1.10, 1.15, 1.10,
    1.00, 1.05, 1.10, 1.10, 1.00, 0.90, 0.80, 0.70, 0.60, 0.50, 0.40, 0.35,
)
WEEKEND_TRAFFIC = 0.6


class TrafficClock:
    """Maps a fraction of the traffic (0..1) to the time it happened.

    The period from ``now - days`` to ``now`` is cut into hours weighted by
    the daily rhythm; walking the fraction up walks time forward, busier
    hours taking a larger share of the rows.
    """

    def __init__(self, now, days):
        start = now - timedelta(days=days)
        self.starts, weights = [], []
        moment = start
        while moment < now:
            hour_end = min(moment.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1), now)
            span = (hour_end - moment).total_seconds()
            weekend = WEEKEND_TRAFFIC if moment.weekday() >= 5 else 1.0
            self.starts.append(moment)
            weights.append(HOURLY_TRAFFIC[moment.hour] * weekend * span)
            moment = hour_end
        self.now = now
        total = sum(weights)
        self.cumulative = [w / total for w in accumulate(weights)]

    def at(self, fraction):
        index = min(bisect_right(self.cumulative, fraction), len(self.starts) - 1)
        before = self.cumulative[index - 1] if index else 0.0
        share = self.cumulative[index] - before
        start = self.starts[index]
        end = self.starts[index + 1] if index + 1 < len(self.starts) else self.now
        within = (fraction - before) / share if share else 0.0
        return start + (end - start) * min(max(within, 0.0), 1.0)

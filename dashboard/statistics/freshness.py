"""How fresh the figures are, and a bounded catch-up when a page finds them stale.

The embedded default has no beat: a page whose figures are older than
``STATISTICS_STALE`` seconds runs one pass of at most
``STATISTICS_PAGE_PASS_ROWS`` rows itself before reading them (skipped at
once when another pass is running), so the figures follow the results
without any scheduler, and a page view stays bounded however far behind
the figures are. The same page also prunes one batch of figures past their
retention.
"""
from datetime import datetime, timedelta
from typing import NamedTuple

from django.utils import timezone

from ..conf import dashboard_setting
from . import rollup


class Freshness(NamedTuple):
    updated: datetime | None  # when a pass last ran
    done_until: datetime | None  # the ``date_done`` the figures reach
    caught_up: bool  # the last pass found nothing more to count
    version: tuple  # changes whenever the figures do (for ETags)

    def age(self, now: datetime) -> timedelta | None:
        return None if self.updated is None else now - self.updated


def ensure_fresh(now: datetime | None = None) -> Freshness:
    """Run a bounded pass when the figures are stale; how fresh they are then."""
    now = now or timezone.now()
    state = rollup.rollup_state()
    stale_after = timedelta(seconds=dashboard_setting("STATISTICS_STALE"))
    if state.updated is not None and now - state.updated < stale_after:
        return Freshness(state.updated, state.done_until, True, _version(state))
    result = rollup.run_pass(limit=dashboard_setting("STATISTICS_PAGE_PASS_ROWS"), now=now)
    if result is None:  # another pass is at it
        return Freshness(state.updated, state.done_until, False, _version(state))
    rollup.prune(now=now)  # one bounded batch: with no beat, retention still holds
    state = rollup.rollup_state()
    return Freshness(now, result.done_until, result.caught_up, _version(state))


def _version(state) -> tuple:
    return (state.done_until_id, state.counted, state.done_until)

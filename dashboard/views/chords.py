"""``/dashboard/chords/``: the running chords, live.

The table polls itself (htmx, every ``CHORDS_REFRESH`` seconds by default,
only while the tab is visible; ``?refresh=0`` pauses it). Each answer
carries an ETag made from a cheap fingerprint of the counters and of the
newest task change (``selectors.chord_counters_state``), and is marked for
revalidation (``Cache-Control: no-cache``): the browser then asks again
with ``If-None-Match``, and while nothing changed Django's conditional
handling answers ``304 Not Modified`` without reading the chords or
rendering anything.
"""
from datetime import timedelta

from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.views.decorators.http import condition

from results.conf import chord_firing_timeout

from .. import actions, chords, selectors
from ..conf import dashboard_setting
from ..forms import ChordOptionsForm
from .actions import GatedActionView
from .base import DashboardView, live_etag


def chords_etag(request, *args, **kwargs):
    """The counters' fingerprint (ages and the stuck flag are shown to the minute, which ``live_etag`` adds).

    What the user may do is in it too: the sweep button comes and goes with ``ALLOW_EDITS``.
    """
    may = sorted(actions.allowed_actions(request.user))
    return live_etag(request, sorted(selectors.chord_counters_state().items()), may)


class ChordListView(DashboardView):
    section = "chords"
    template_name = "dashboard/chords/list.html"
    partial_template_name = "dashboard/chords/partials/table.html"
    partial_target = "chord-table"

    @method_decorator(condition(etag_func=chords_etag))
    def get(self, request, *args, **kwargs):
        data = request.GET.copy()
        # Unset means the default interval: the select shows it (not "paused").
        data.setdefault("refresh", str(dashboard_setting("CHORDS_REFRESH")))
        options = ChordOptionsForm(data)
        running, more = chords.running_chords()
        context = self.get_context_data(
            options=options,
            refresh=options.interval(),
            default_refresh=dashboard_setting("CHORDS_REFRESH"),
            chords=running,
            more=more,
            shown=dashboard_setting("CHORDS_SHOWN"),
            stuck_after=chords.coarse_age(timedelta(seconds=dashboard_setting("CHORD_STUCK_AFTER"))),
            firing_timeout=chords.coarse_age(timedelta(seconds=chord_firing_timeout())),
            can_sweep=actions.Action.SWEEP_CHORDS in actions.allowed_actions(request.user),
        )
        response = self.render_to_response(context)
        # Stored, but revalidated on every poll: the 304 is what keeps a quiet tab cheap.
        patch_cache_control(response, private=True, no_cache=True)
        return response


class ChordSweepView(GatedActionView):
    """``/dashboard/chords/sweep/`` (POST): send the bodies of the chords stuck firing now, not at the next sweep.

    Gated like every operator action (``ALLOW_EDITS`` and the permission:
    403 otherwise), CSRF-protected as every POST, and audited.
    """

    action = actions.Action.SWEEP_CHORDS
    section = "chords"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        self.report(actions.sweep_chords(request.user))
        return HttpResponseRedirect(reverse("dashboard:chords"))

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

from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.views.decorators.http import condition

from .. import chords, selectors
from ..conf import dashboard_setting
from ..forms import ChordOptionsForm
from .base import DashboardView, live_etag


def chords_etag(request, *args, **kwargs):
    """The counters' fingerprint (ages and the stuck flag are shown to the minute, which ``live_etag`` adds)."""
    return live_etag(request, sorted(selectors.chord_counters_state().items()))


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
        )
        response = self.render_to_response(context)
        # Stored, but revalidated on every poll: the 304 is what keeps a quiet tab cheap.
        patch_cache_control(response, private=True, no_cache=True)
        return response

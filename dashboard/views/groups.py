"""The group pages: the list, and one group with its members' states."""
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django_htmx.http import HttpResponseStopPolling

from .. import decoding, formatting, selectors
from ..conf import dashboard_setting
from ..filters import GroupFilter
from ..forms import ListOptionsForm
from ..tables import GroupTable
from .base import DashboardView
from .lists import FilteredListView
from .saved_views import SavedViewsMenuMixin


class GroupListView(SavedViewsMenuMixin, FilteredListView):
    """``/dashboard/groups/``: stored group results, newest first."""

    section = "groups"
    saved_view_list = "groups"
    template_name = "dashboard/groups/list.html"
    partial_template_name = "dashboard/partials/group_results.html"
    partial_target = "group-results"
    filterset_class = GroupFilter
    table_class = GroupTable

    def get_queryset(self):
        return selectors.group_rows()


class GroupDetailView(DashboardView):
    """``/dashboard/groups/<group_id>/``: the members and how many are in each state.

    The members come from the stored group result (the group's result tuple,
    decoded with its own content type, never unpickled), or, for a running
    chord's header (which Celery does not store as a group), from its chord
    counter; they are joined to their task rows. The members' table can poll
    itself (``?refresh=N``); once a followed chord finishes, polling stops.
    """

    section = "groups"
    template_name = "dashboard/groups/detail.html"
    not_found_template_name = "dashboard/groups/not_found.html"
    finished_template_name = "dashboard/groups/partials/chord_finished.html"
    partial_template_name = "dashboard/partials/group_members.html"
    partial_target = "group-members"

    def get(self, request, group_id, *args, **kwargs):
        group, chord_counter = selectors.group_by_id(group_id), None
        if group is None:
            group, chord_counter = selectors.running_chord_header(group_id) or (None, None)
        if group is None:
            if self.is_partial_request():
                # A live refresh of a chord that finished since: its counter is gone.
                return HttpResponseStopPolling(render_to_string(self.finished_template_name, request=request))
            return self.render_not_found(group_id=group_id)
        options = ListOptionsForm(request.GET)
        refresh = options.cleaned_data.get("refresh") if options.is_valid() else None
        context = self.get_context_data(
            group=group, chord_counter=chord_counter, options=options, refresh=refresh, **self.members(group)
        )
        return self.push_shareable_url(self.render_to_response(context, status=200 if options.is_valid() else 400))

    def members(self, group):
        value, note = decoding.decode_stored(group.result, group.content_type, group.content_encoding)
        ref = decoding.parse_result_tuple(value) if value is not None else None
        if value is not None and (ref is None or not ref.is_group):
            note = _("The stored group result is not a group's result tuple: shown as stored.")
        refs = ref.members if ref is not None and ref.is_group else []
        task_ids = decoding.task_ids_in(refs)
        shown = dashboard_setting("GROUP_MEMBERS_SHOWN")
        breakdown = selectors.status_breakdown(task_ids) if task_ids else {}
        total = len(set(task_ids))
        return {
            "note": note,
            "raw": group.result if note else "",
            "nested_groups": [r for r in refs if r.is_group],
            "members": selectors.group_members(task_ids[:shown]),
            "member_count": total,
            "members_cut": len(task_ids) > shown,
            "members_shown": shown,
            "breakdown": [
                (status, n, formatting.STATUS_TONES.get(status, "other"), 100 * n / total)
                for status, n in sorted(breakdown.items(), key=lambda item: -item[1])
            ],
        }

"""Saved views' pages: the lists' "Views" menu, saving the filters shown, opening, sharing and deleting a view.

Every change is a POST with its CSRF token and ends with a Django message
and a redirect back to a list, so all of it works without JavaScript; with
htmx the save form swaps in place (its errors, answered 4xx) and a saved
view reloads the list it belongs to. The rules are ``dashboard.saved_views``'s.
"""
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.generic import View
from django_htmx.http import HttpResponseClientRedirect

from .. import saved_views
from ..saved_view_forms import SaveViewForm
from .base import DashboardView, ResultsViewerRequiredMixin

#: The save form's element: what an htmx submission swaps.
FORM_ID = "saved-view-form"


def save_form(user, list_key: str, query: str, data=None) -> SaveViewForm:
    return SaveViewForm(data, user=user, initial={"list_name": list_key, "query": query}, auto_id="saved-view-%s")


class SavedViewsMenuMixin:
    """A list page with a "Views" menu: the user's and the team's views of ``saved_view_list``, and the save form.

    Every answer carries the query a view would keep (``saved_view_query``):
    an htmx swap of the results sends it out-of-band, so the save form
    always saves the filters shown. The menu itself is read for whole pages
    only (one query), not for each swap or poll.
    """

    saved_view_list = None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        query = saved_views.current_query(self.saved_view_list, self.request.GET)
        context["saved_view_query"] = query
        if not context.get("is_partial"):
            user = self.request.user
            context["saved_views"] = saved_views.shown_to(user, self.saved_view_list)
            context["saved_views_can_share"] = saved_views.can_share(user)
            context["save_view_form"] = save_form(user, self.saved_view_list, query)
        return context


def back_to(request, default: str) -> str:
    """``next`` (a path of this site), else ``default``."""
    target = request.POST.get("next")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return default


class SaveViewView(DashboardView):
    """POST: save the list's filters and sort as a view named by the user; errors re-render the form (400)."""

    http_method_names = ["post"]
    template_name = "dashboard/saved_views/save.html"
    partial_template_name = "dashboard/saved_views/partials/save_form.html"
    partial_target = FORM_ID

    def post(self, request, *args, **kwargs):
        form = save_form(request.user, "", "", data=request.POST)
        view = form.save() if form.is_valid() else None
        if view is None:
            list_key = request.POST.get("list_name")
            self.section = list_key if list_key in saved_views.LISTS else None
            context = self.get_context_data(form=form, saved_views_can_share=saved_views.can_share(request.user))
            return self.render_to_response(context, status=400)
        if view.shared:
            messages.success(request, _("Saved the view “%(name)s”, shared with the team.") % {"name": view.name})
        else:
            messages.success(request, _("Saved the view “%(name)s” (only you see it).") % {"name": view.name})
        url = saved_views.LISTS[view.list_name].url(view.query)
        return HttpResponseClientRedirect(url) if getattr(request, "htmx", False) else HttpResponseRedirect(url)


class SavedViewMixin(ResultsViewerRequiredMixin):
    """A view the user sees (theirs, or shared), from the URL's ``pk``: 404 for any other."""

    def saved_view(self):
        return get_object_or_404(saved_views.visible_to(self.request.user), pk=self.kwargs["pk"])


class DeleteSavedView(SavedViewMixin, View):
    """POST: delete a view (its owner; or a shared one, staff with ``dashboard.delete_savedview``); 403 otherwise."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        view = self.saved_view()
        try:
            saved_views.delete(request.user, view)
        except PermissionError as refusal:
            raise PermissionDenied(str(refusal)) from None
        messages.success(request, _("Deleted the view “%(name)s”.") % {"name": view.name})
        return HttpResponseRedirect(back_to(request, saved_views.LISTS[view.list_name].url()))


class ShareSavedView(SavedViewMixin, View):
    """POST ``shared=1`` or ``shared=0``: share a view with the team or take it back (owner with the permission)."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        view = self.saved_view()
        shared = request.POST.get("shared") == "1"
        try:
            saved_views.set_shared(request.user, view, shared)
        except PermissionError as refusal:
            raise PermissionDenied(str(refusal)) from None
        if shared:
            messages.success(request, _("The view “%(name)s” is shared with the team.") % {"name": view.name})
        else:
            messages.success(request, _("The view “%(name)s” is yours only again.") % {"name": view.name})
        return HttpResponseRedirect(back_to(request, saved_views.LISTS[view.list_name].url(view.query)))

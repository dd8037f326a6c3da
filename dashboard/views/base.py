"""What every dashboard page shares: the access rule, the layout's context,
and answering htmx requests with only the part of the page they swap."""
import hashlib
import time

from django.contrib.auth.mixins import UserPassesTestMixin
from django.contrib.auth.views import redirect_to_login
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.views.generic import TemplateView
from django_htmx.http import HttpResponseClientRedirect, push_url

from ..access import can_view_results
from ..navigation import SECTIONS
from ..querystrings import shareable_url


def live_etag(request, *state) -> str:
    """An ETag for a live page: ``state`` (what its figures depend on) and what else makes its answer differ.

    The page asked for, whether it is a fragment (and which), the user, and
    the minute: live pages show ages to the minute, so even unchanged
    figures are sent again once a minute; and the time zone the dates are
    written in (``dashboard.timezones``).
    """
    parts = (
        state,
        request.get_full_path(),
        bool(getattr(request, "htmx", False)),
        request.headers.get("HX-Target", ""),
        request.user.pk,
        int(time.time() // 60),
        timezone.get_current_timezone_name(),
    )
    return hashlib.sha256(repr(parts).encode()).hexdigest()[:32]


class ResultsViewerRequiredMixin(UserPassesTestMixin):
    """Only users who may view results: others get the login page, or a 403.

    An htmx request from a session that expired is sent to the login page
    as a whole-page redirect, not swapped into a fragment of the page.
    """

    def test_func(self):
        return can_view_results(self.request.user)

    def handle_no_permission(self):
        request = self.request
        if not request.user.is_authenticated and getattr(request, "htmx", False):
            return HttpResponseClientRedirect(redirect_to_login(self.page_of_htmx_request()).url)
        return super().handle_no_permission()

    def page_of_htmx_request(self) -> str:
        """The page (path and query) the htmx request came from, when it is on this site; else the path asked.

        ``HX-Current-URL`` is a header anyone may write: one that is no URL
        (``http://[::1``) makes django-htmx's ``current_url_abs_path`` raise.
        """
        try:
            page = self.request.htmx.current_url_abs_path
        except ValueError:
            page = None
        return page or self.request.get_full_path()


class DashboardView(ResultsViewerRequiredMixin, TemplateView):
    """A dashboard page: access rule, navigation, partial rendering for htmx.

    ``partial_template_name`` is what an htmx request targeting
    ``partial_target`` (the id of the swapped element) receives instead of
    the whole page.
    """

    section = None
    partial_template_name = None
    partial_target = None

    def is_partial_request(self):
        htmx = getattr(self.request, "htmx", None)
        return (
            bool(htmx)
            and self.partial_template_name is not None
            and htmx.target == self.partial_target
            and not htmx.history_restore_request
        )

    def dispatch(self, request, *args, **kwargs):
        response = super().dispatch(request, *args, **kwargs)
        # The same URL answers a whole page or a fragment: caches must keep them apart.
        patch_vary_headers(response, ("HX-Request", "HX-Target"))
        return response

    def get_template_names(self):
        if self.is_partial_request():
            return [self.partial_template_name]
        return super().get_template_names()

    not_found_template_name = None

    def render_not_found(self, **context):
        """The page's own 404: says what was not found and offers a search."""
        return self.response_class(
            request=self.request,
            template=[self.not_found_template_name],
            context=self.get_context_data(**context),
            status=404,
        )

    def push_shareable_url(self, response):
        """After an htmx swap the browser shows this view's shareable URL (live-refresh polls excepted)."""
        if self.is_partial_request() and self.request.htmx.trigger != self.partial_target:
            push_url(response, shareable_url(self.request))
        return response

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["sections"] = SECTIONS
        context["current_section"] = self.section
        context["is_partial"] = self.is_partial_request()
        return context


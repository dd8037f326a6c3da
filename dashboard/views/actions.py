"""The operator actions' pages: a confirmation (GET), then the action (POST).

GET never changes anything: it resolves what the action would touch (the
ids given, or the tasks matching the list's filters, through the same
FilterSet and selector as the list) and shows exactly that, the count
included. The form it renders carries those exact ids, so the POST acts on
what was confirmed, not on whatever matches a moment later. The work is
done by ``dashboard.actions``; this module parses, gates and reports (Django
messages), then redirects back.

Gating happens before anything else, on GET and POST alike: with
``ALLOW_EDITS`` off, or without the action's permission, the answer is 403.
"""
import json

from django.contrib import messages
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.generic import View

from .. import actions, redrives, selectors
from ..conf import dashboard_setting
from ..filters import TaskFilter
from ..forms import ActionForm, NextForm, RedriveForm, TerminateForm, not_an_id
from ..models import Redrive
from ..navigation import SECTIONS
from ..querystrings import canonical_query
from .base import ResultsViewerRequiredMixin

Action = actions.Action

#: Per-task messages shown after an action; the rest are in its audit entry.
MESSAGES_PER_TASK = 20
#: Tasks listed on a confirmation page.
CONFIRM_LISTED = 50

DESCRIPTIONS = {
    Action.RETRY: gettext_lazy(
        "Send each task again, with its stored task name and arguments, through the Celery app. "
        "The new task gets a new id, linked to the original on both tasks' pages."
    ),
    Action.REVOKE: gettext_lazy(
        "Ask the workers to revoke each task that has not finished: a task still waiting will not run. "
        "A task already running goes on (use terminate to stop it)."
    ),
    Action.TERMINATE: gettext_lazy(
        "Revoke each task that has not finished and kill (SIGTERM) the worker process running it, if any. "
        "Whatever the task was doing is cut short."
    ),
    Action.DELETE: gettext_lazy("Delete the stored results of these tasks. The tasks themselves are not affected."),
}


class GatedActionView(ResultsViewerRequiredMixin, View):
    """Log-in and view rule first (the mixin), then ``ALLOW_EDITS`` and the action's permission."""

    action = None
    section = "tasks"
    http_method_names = ["get", "post"]

    def dispatch(self, request, *args, **kwargs):
        if not self.test_func():
            return self.handle_no_permission()
        if self.action not in actions.PERMISSIONS:
            raise Http404(_("No such action"))
        reason = actions.refusal(request.user, self.action)
        if reason:
            return self.page("dashboard/actions/forbidden.html", {"reason": reason}, status=403)
        return super().dispatch(request, *args, **kwargs)

    def page(self, template, context, status=200):
        params = self.request.POST if self.request.method == "POST" else self.request.GET
        context = {"sections": SECTIONS, "current_section": self.section, "action": self.action,
                   "action_label": Action(self.action).label,
                   "cancel_url": self.next_url(params.get("next"), reverse("dashboard:tasks")), **context}
        return TemplateResponse(self.request, template, context, status=status)

    def next_url(self, value, default):
        if value and url_has_allowed_host_and_scheme(value, {self.request.get_host()}, self.request.is_secure()):
            return value
        return default

    def report(self, outcome):
        """The outcome as Django messages: one summary, then each task that was not done."""
        level = {"done": messages.SUCCESS, "partial": messages.WARNING, "failed": messages.ERROR}[outcome.status]
        messages.add_message(self.request, level, f"{Action(self.action).label}: {outcome.summary}")
        for task in outcome.failed[:MESSAGES_PER_TASK]:
            messages.error(self.request, f"{task.task_id or _('(empty id)')}: {task.detail}")
        hidden = len(outcome.failed) - MESSAGES_PER_TASK
        if hidden > 0:
            messages.error(self.request, _("…and %(n)s more: see the audit trail.") % {"n": hidden})


class TaskActionView(GatedActionView):
    """``/dashboard/actions/<action>/``: retry, revoke, terminate or delete chosen tasks."""

    TASK_ACTIONS = (Action.RETRY, Action.REVOKE, Action.TERMINATE, Action.DELETE)

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        action = kwargs.get("action")
        self.action = action if action in self.TASK_ACTIONS else None

    def get_form_class(self):
        return TerminateForm if self.action == Action.TERMINATE else ActionForm

    def get(self, request, *args, **kwargs):
        selection = self.resolve_selection(request.GET)
        if selection.get("errors"):
            return self.page("dashboard/actions/confirm.html", selection, status=400)
        form = self.get_form_class()(
            initial={"task_ids": json.dumps(selection["ids"]), "next": request.GET.get("next", "")}
        )
        context = {**selection, **self.preview(selection["ids"]), "form": form}
        return self.page("dashboard/actions/confirm.html", context)

    def post(self, request, *args, **kwargs):
        form = self.get_form_class()(request.POST)
        if not form.is_valid():
            ids = []
            if "task_ids" in form.cleaned_data:
                ids = form.cleaned_data["task_ids"]
            context = {"ids": ids, "count": len(ids), "form": form, "errors": [], **self.preview(ids)}
            return self.page("dashboard/actions/confirm.html", context, status=400)
        ids = form.cleaned_data["task_ids"]
        if self.action == Action.RETRY:
            outcome = actions.retry(request.user, ids)
        elif self.action in (Action.REVOKE, Action.TERMINATE):
            outcome = actions.revoke(request.user, ids, terminate=self.action == Action.TERMINATE)
        else:
            outcome = actions.delete(request.user, ids)
        self.report(outcome)
        default = reverse("dashboard:tasks")
        if len(ids) == 1 and ids[0] and self.action != Action.DELETE:  # an empty id has no page
            default = reverse("dashboard:task", args=[ids[0]])
        return HttpResponseRedirect(self.next_url(form.cleaned_data.get("next"), default))

    def resolve_selection(self, query):
        """The ids to confirm: ``?task_id=...`` (one or more), or ``?scope=filter&<the list's filters>``."""
        limit = dashboard_setting("ACTION_LIMIT")
        if query.get("scope") == "filter":
            filterset = TaskFilter(query, queryset=selectors.task_rows())
            if not filterset.is_valid():
                return {"errors": [f"{name}: {' '.join(errs)}" for name, errs in filterset.errors.items()], "ids": []}
            ids = selectors.matching_task_ids(filterset.qs, limit + 1)
            if not ids:
                return {"errors": [_("No task matches these filters: nothing to do.")], "ids": []}
            return {
                "ids": ids[:limit], "count": min(len(ids), limit), "more": len(ids) > limit, "limit": limit,
                "scope": "filter",
                "query": canonical_query(query, drop=("scope", "next", "cursor", "page", "sort", "refresh")),
            }
        ids = list(dict.fromkeys(value for value in query.getlist("task_id") if value))
        if not ids:
            return {"errors": [_("No task chosen: tick tasks in the list, or use “all matching”.")], "ids": []}
        if len(ids) > limit:
            error = _("At most %(limit)s tasks per action; %(n)s were chosen.") % {"limit": limit, "n": len(ids)}
            return {"errors": [error], "ids": []}
        refused = [not_an_id(task_id, reason) for task_id in ids if (reason := actions.task_id_refusal(task_id))]
        if refused:
            return {"errors": refused, "ids": []}
        return {"ids": ids, "count": len(ids)}

    def preview(self, ids):
        """What the confirmation lists: the first tasks, and for a retry which ones would be refused, and why."""
        shown = ids[:CONFIRM_LISTED]
        rows = selectors.stored_tasks(shown, ("task_name", "status"))
        context = {
            "description": DESCRIPTIONS[self.action],
            "listed": [(task_id, rows.get(task_id)) for task_id in shown],
            "unlisted": max(len(ids) - CONFIRM_LISTED, 0),
        }
        if self.action == Action.RETRY and ids:
            context["refusals"] = actions.retry_refusals(ids)
        return context


class DeleteExpiredView(GatedActionView):
    """``/dashboard/actions/delete-expired/``: delete results older than ``result_expires``."""

    action = Action.DELETE_EXPIRED

    def get(self, request, *args, **kwargs):
        expires = actions.result_expires()
        context = {"expires": expires, "form": NextForm(initial={"next": request.GET.get("next", "")})}
        if expires is not None:
            context["expired_count"] = selectors.count_rows(selectors.expired_task_rows(expires))
        return self.page("dashboard/actions/delete_expired.html", context)

    def post(self, request, *args, **kwargs):
        form = NextForm(request.POST)
        form.is_valid()
        self.report(actions.delete_expired(request.user))
        return HttpResponseRedirect(self.next_url(form.cleaned_data.get("next"), reverse("dashboard:tasks")))


GROUP_DESCRIPTIONS = {
    Action.RESOLVE: gettext_lazy(
        "Mark this cause as fixed. If it fails again after now, it comes back as regressed, first in the list."
    ),
    Action.IGNORE: gettext_lazy("Keep counting this cause, but list it last, as ignored, until it is reopened."),
    Action.REOPEN: gettext_lazy("Undo the resolve or the ignore: the cause is open again."),
}


class FailureGroupPageMixin:
    """An action on the failure group its URL names (``<digest>``): 404 for a group that is not stored."""

    section = "failures"

    def group(self):
        group = selectors.failure_group(self.kwargs["digest"])
        if group is None:
            raise Http404(_("No such failure group"))
        return group


class FailureGroupActionView(FailureGroupPageMixin, GatedActionView):
    """``/dashboard/failures/<fingerprint>/<action>/``: resolve, ignore or reopen a failure group."""

    def setup(self, request, *args, **kwargs):
        super().setup(request, *args, **kwargs)
        action = kwargs.get("action")
        self.action = action if action in actions.GROUP_STATES else None

    def get(self, request, *args, **kwargs):
        context = {"group": self.group(), "description": GROUP_DESCRIPTIONS[self.action],
                   "form": NextForm(initial={"next": request.GET.get("next", "")})}
        return self.page("dashboard/actions/failure_group.html", context)

    def post(self, request, *args, **kwargs):
        group = self.group()
        form = NextForm(request.POST)
        form.is_valid()
        self.report(actions.set_group_state(request.user, group.digest, self.action))
        default = reverse("dashboard:failure", args=[group.digest])
        return HttpResponseRedirect(self.next_url(form.cleaned_data.get("next"), default))


class RedriveView(FailureGroupPageMixin, GatedActionView):
    """``/dashboard/failures/<fingerprint>/retry/``: the dry run of retrying a group's failures (GET), then the run.

    The dry run says exactly how many tasks would be sent and how many are
    refused, by reason; the POST plans the same range again (``until`` is
    the dry run's) and queues the run on the workers, then shows its
    progress (``dashboard:redrive``).
    """

    action = Action.REDRIVE

    def get(self, request, *args, **kwargs):
        group = self.group()
        data = request.GET.copy()
        now = timezone.now()
        if not data.get("since"):
            # All of the group's failures; to the second, as the input shows it.
            data["since"] = timezone.localtime(group.first_seen or now).replace(microsecond=0).strftime(
                "%Y-%m-%dT%H:%M:%S")
        data["until"] = now.isoformat()
        form = RedriveForm(data)
        if not form.is_valid():
            return self.refused(group, form)
        since, until = form.cleaned_data["since"], form.cleaned_data["until"]
        plan = redrives.plan(group, since, until)
        confirm = RedriveForm(initial={"since": since, "until": until.isoformat(), "next": data.get("next", "")})
        context = self.settings({"group": group, "form": form, "confirm": confirm, "plan": plan, "since": since,
                                 "until": until})
        context["seconds"] = len(plan.to_send) / context["rate"] if context["rate"] > 0 else 0
        return self.page("dashboard/actions/redrive.html", context)

    def refused(self, group, form):
        """The dry run's page for a range it cannot count, with the form's reasons (400)."""
        return self.page("dashboard/actions/redrive.html", self.settings({"group": group, "form": form}), status=400)

    @staticmethod
    def settings(context):
        """``context`` with the pace and the cap the page states."""
        return {**context, "rate": dashboard_setting("REDRIVE_RATE"), "limit": dashboard_setting("REDRIVE_LIMIT")}

    def post(self, request, *args, **kwargs):
        group = self.group()
        form = RedriveForm(request.POST)
        if not form.is_valid():
            return self.refused(group, form)
        redrive = redrives.start(request.user, group, form.cleaned_data["since"], form.cleaned_data["until"])
        if redrive is None:
            messages.warning(request, _("Nothing to retry: none of these failures can be sent again now."))
            return HttpResponseRedirect(reverse("dashboard:failure-retry", args=[group.digest]))
        if redrive.state == Redrive.State.FAILED:
            messages.error(request, f"{Action(self.action).label}: {redrive.error}")
        elif not redrive.planned:
            messages.warning(request, _("Nothing to retry: another run took these tasks first."))
        else:
            messages.success(request, _("%(n)s task(s) queued to be sent again, %(rate)s per second.") % {
                "n": redrive.planned, "rate": redrive.rate})
        return HttpResponseRedirect(reverse("dashboard:redrive", args=[redrive.pk]))


class RedriveCancelView(GatedActionView):
    """``/dashboard/redrives/<id>/cancel/`` (POST): stop a run before its next send."""

    action = Action.REDRIVE
    section = "failures"
    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        redrive = get_object_or_404(Redrive, pk=kwargs["pk"])
        if redrives.cancel(request.user, redrive):
            messages.success(request, _("Cancelled: nothing more is sent; the tasks not sent yet are released."))
        else:
            messages.warning(request, _("This run had already finished (%(state)s).") % {"state": redrive.state})
        return HttpResponseRedirect(reverse("dashboard:redrive", args=[redrive.pk]))

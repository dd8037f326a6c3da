"""Template tags of the operator actions: which actions a user may run, a task's history."""
from django import template
from django.db.models import Q

from .. import actions
from ..conf import dashboard_setting
from ..models import AuditedTask

register = template.Library()


@register.simple_tag(takes_context=True)
def allowed_actions(context):
    """The actions the request's user may run now: empty while ``ALLOW_EDITS`` is off (no button is rendered)."""
    request = context.get("request")
    if request is None:
        return frozenset()
    return actions.allowed_actions(request.user)


@register.simple_tag
def task_history(task_id):
    """``(entries, retries, retry_of)`` for one task: the audit rows naming it, in one query.

    ``retries`` are the tasks a retry of this one sent; ``retry_of`` the task
    this one was sent to retry, if it was.
    """
    rows = list(
        AuditedTask.objects.filter(Q(task_id=task_id) | Q(new_task_id=task_id))
        .select_related("entry")
        .order_by("-id")[: dashboard_setting("AUDIT_SHOWN_ON_TASK")]
    )
    entries = [row for row in rows if row.task_id == task_id]
    retries = [row.new_task_id for row in entries if row.new_task_id]
    retry_of = next((row.task_id for row in rows if row.new_task_id == task_id), None)
    return {"entries": entries, "retries": retries, "retry_of": retry_of}

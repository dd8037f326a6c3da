"""``/dashboard/redrives/<id>/``: a failure group's bulk retry as it runs, live.

Anyone who may view results may watch it; the cancel button shows to those
who may run it. While the run is queued or sending, or a new task it lists
has not finished, the progress card polls itself (htmx, every
``REDRIVE_POLL`` seconds); then it stops. Without JavaScript the page shows
the same figures on each reload.
"""
from datetime import timedelta

from celery import states
from django.shortcuts import get_object_or_404
from django.utils import timezone

from .. import actions
from ..models import Redrive
from ..selectors import stored_tasks
from .base import DashboardView

#: Seconds between two polls of a running run's card.
REDRIVE_POLL = 2
#: The latest tasks sent, listed with the state of the task each became.
LATEST_SHOWN = 20
#: How long after its end a run's page still polls for its new tasks' states.
WATCHED_AFTER_THE_END = timedelta(minutes=10)


class RedriveProgressView(DashboardView):
    section = "failures"
    template_name = "dashboard/redrives/progress.html"
    partial_template_name = "dashboard/redrives/partials/progress.html"
    partial_target = "redrive-progress"

    def get_context_data(self, **kwargs):
        redrive = get_object_or_404(Redrive.objects.select_related("group", "entry"), pk=self.kwargs["pk"])
        latest = list(redrive.items.filter(sent_at__isnull=False).order_by("-sent_at", "-id")[:LATEST_SHOWN])
        new_tasks = stored_tasks([item.new_task_id for item in latest], ("status",))
        pending = redrive.pending
        # The new tasks listed are watched for a while after the run ends, until they have finished.
        waiting = any(new_tasks.get(item.new_task_id) is None or new_tasks[item.new_task_id].status
                      not in states.READY_STATES for item in latest)
        watching = waiting and redrive.finished and timezone.now() - redrive.finished < WATCHED_AFTER_THE_END
        return super().get_context_data(
            redrive=redrive,
            group=redrive.group,
            latest=[(item, new_tasks.get(item.new_task_id)) for item in latest],
            refusal_rows=sorted(
                ((actions.RefusalKind(kind).label, count) for kind, count in redrive.refusals.items() if count),
                key=lambda row: -row[1]),
            seconds_left=pending / redrive.rate if redrive.rate > 0 else None,
            quiet_for=(timezone.now() - redrive.heartbeat).total_seconds() if redrive.heartbeat else None,
            can_cancel=not redrive.is_finished and "redrive" in actions.allowed_actions(self.request.user),
            poll=REDRIVE_POLL if watching or not redrive.is_finished else None,
            **kwargs,
        )

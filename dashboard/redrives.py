"""Retrying a failure group's tasks in bulk: a dry run, then a paced, capped, cancellable run on the workers.

An operator who has shipped the fix retries every failure of a cause since
a chosen time:

1. ``plan`` is the dry run. It walks the group's failures (``Failure``
   rows, oldest first) from ``since`` to ``until`` and sorts each one into
   "would be sent" or refused, with the reason's kind
   (``actions.RefusalKind``): arguments cut by Celery or masked by an
   ``argsrepr``, pickle, an unregistered task name, already retried (alone,
   or by another run), a result gone or no longer failed. It stops at the
   cap (``REDRIVE_LIMIT``); the failures after it wait for a later run.
   ``until`` is fixed when the dry run is shown and carried by its form, so
   the run covers what was confirmed, not the failures that came since.
2. ``start`` plans again in the same way and keeps the plan: one
   ``RedriveItem`` per task to send. Task ids are unique among items, so
   two runs that overlap never both hold a task; a task another run took
   first is counted as already retried. It then hands the sending to the
   user's workers (``dashboard.tasks.redrive_failures``), never doing it in
   the web request.
3. ``run_slice`` is what that Celery task runs: it sends the items at
   ``REDRIVE_RATE`` tasks per second for ``REDRIVE_SLICE_SECONDS``, then
   queues the next slice, so a long run neither holds a worker process for
   an hour nor dies with one. A lease on the run means one slice at a time;
   an item's new task id is written before its message is published, so a
   slice that dies mid-send never sends that task twice. Every task sent
   is linked old -> new in the run's audit entry, as a single retry is.
4. ``cancel`` stops a run before its next send; what it had not sent is
   released for a later run.
"""
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from celery import current_app, states
from django.db import router, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from results.conf import id_batch_size
from results.managers import transaction_retry
from results.models import TaskResult
from results.utils import batched

from . import actions, selectors
from .actions import Action, RefusalKind, Refused
from .conf import dashboard_setting
from .formatting import local_datetime
from .models import AuditedTask, AuditEntry, Failure, Redrive, RedriveItem

State = Redrive.State

#: The Celery task that sends a run's tasks (``dashboard.tasks``).
TASK_NAME = "dashboard.redrive_failures"
#: Task ids kept as examples of each kind of refusal.
EXAMPLES_KEPT = 5
#: How long a slice's lease outlasts its planned end (seconds): room for a slow send.
LEASE_MARGIN = 30
#: Items a slice reads at once.
SEND_BATCH = 50


# --- the dry run ------------------------------------------------------------------


@dataclass
class Plan:
    """What a run would do: the task ids to send (oldest failure first), and the refused ones, by kind."""

    limit: int
    to_send: list = field(default_factory=list)
    refused: Counter = field(default_factory=Counter)
    examples: dict = field(default_factory=dict)
    beyond_limit: int = 0  # failures in the range left for a later run (the cap was reached)

    def refuse(self, kind, task_id, row_id):
        """Count a refusal; ``task_id`` is None for a result that is gone (only its row id is known)."""
        self.refused[kind] += 1
        kept = self.examples.setdefault(kind, [])
        if len(kept) < EXAMPLES_KEPT:
            kept.append((task_id, row_id))

    @property
    def refused_total(self):
        return sum(self.refused.values())

    @property
    def refusal_rows(self):
        """``[(label, count, examples)]``, the commonest kind first; an example is ``(task id or None, row id)``."""
        return [(RefusalKind(kind).label, count, self.examples.get(kind, []))
                for kind, count in self.refused.most_common()]


def failures_in_range(digest, since, until):
    """The group's failures with ``since <= date_done <= until``, oldest first (its ``Failure`` index)."""
    return Failure.objects.filter(digest=digest, date_done__gte=since, date_done__lte=until).order_by(
        "date_done", "row_id")


def failure_batches(digest, since, until):
    """The result row ids of ``failures_in_range``, in batches, by keyset (any number of failures)."""
    query, size, after = failures_in_range(digest, since, until), id_batch_size(), None
    while True:
        page = query
        if after is not None:
            # The inclusive bound alone is where the (digest, date_done, row_id) range starts, as the task list's
            # cursor pages have it; an OR on its own would read the group from its first failure for every batch.
            page = page.filter(Q(date_done__gte=after[0]), Q(date_done__gt=after[0]) | Q(row_id__gt=after[1]))
        batch = list(page.values_list("date_done", "row_id")[:size])
        if batch:
            yield [row_id for _done, row_id in batch]
        if len(batch) < size:
            return
        after = batch[-1]


def already_retried(task_ids, by_runs=True):
    """The ids among ``task_ids`` sent again by a single retry, or (``by_runs``) held by a run, sent or not yet."""
    found = set()
    for batch in batched(task_ids):
        if by_runs:
            found.update(RedriveItem.objects.filter(task_id__in=batch).values_list("task_id", flat=True))
        found.update(AuditedTask.objects.filter(
            task_id__in=batch, ok=True, new_task_id__isnull=False,
            entry__action__in=(Action.RETRY, Action.REDRIVE),
        ).values_list("task_id", flat=True))
    return found


def refusal_kind(task, app, retried=frozenset()):
    """Why ``task`` (a result row, or None when it is gone) is not sent again, as a ``RefusalKind``; None to send it."""
    if task is None:
        return RefusalKind.GONE
    if not task.task_id or actions.task_id_refusal(task.task_id):
        return RefusalKind.NO_ID
    if task.status != states.FAILURE:
        return RefusalKind.NOT_FAILED
    if task.task_id in retried:
        return RefusalKind.ALREADY_RETRIED
    try:
        actions.retry_call(task, app)
    except Refused as exc:
        return exc.kind
    return None


def plan(group, since, until, app=None, limit=None):
    """The dry run: which of ``group``'s failures from ``since`` to ``until`` would be sent again, which not, and why.

    Reads the failures in batches and stops once ``limit`` tasks
    (``REDRIVE_LIMIT``) would be sent; the failures after that are only
    counted (``beyond_limit``).
    """
    app = app or current_app._get_current_object()
    result = Plan(limit=dashboard_setting("REDRIVE_LIMIT") if limit is None else limit)
    examined = 0
    for row_ids in failure_batches(group.digest, since, until):
        rows = TaskResult.objects.filter(id__in=row_ids).only("id", "task_id", "status", *actions.RETRY_FIELDS)
        rows = {row.id: row for row in rows}
        retried = already_retried([row.task_id for row in rows.values()])
        for row_id in row_ids:
            if len(result.to_send) >= result.limit:
                result.beyond_limit = failures_in_range(group.digest, since, until).count() - examined
                return result
            examined += 1
            task = rows.get(row_id)
            kind = refusal_kind(task, app, retried)
            if kind is None:
                result.to_send.append(task.task_id)
            else:
                result.refuse(kind, task.task_id if task is not None else None, row_id)
    return result


# --- starting a run ------------------------------------------------------------------


def describe(redrive):
    """The run in one line, for its audit entry."""
    group = redrive.group
    cause = f"{group.exception_type or '?'}" + (f" in {group.where}" if group.where else "")
    text = _(
        "failure group %(digest)s (%(cause)s), failures from %(since)s to %(until)s: "
        "%(sent)s of %(planned)s sent again, %(refused)s refused"
    ) % {
        "digest": group.digest, "cause": cause, "since": local_datetime(redrive.since),
        "until": local_datetime(redrive.until), "sent": redrive.sent, "planned": redrive.planned,
        "refused": redrive.refused,
    }
    if redrive.state == State.CANCELLED:
        text += "; " + _("cancelled by %(who)s") % {"who": redrive.cancelled_by or "?"}
    if redrive.beyond_limit:
        text += "; " + _("%(n)s later failures beyond the cap of %(limit)s") % {
            "n": redrive.beyond_limit, "limit": redrive.limit}
    if redrive.error:
        text += f"; {redrive.error}"
    return text


@transaction_retry(max_retries=2)
def _keep(user, group, since, until, the_plan):
    """The run and its items, in one transaction; run again whole when the database gives up on it.

    Two runs started at the same moment insert overlapping items: MariaDB may
    pick one of them as a deadlock victim, which is rolled back entirely, so
    a second attempt starts from nothing and finds the other's items taken.
    """
    db = router.db_for_write(Redrive)
    with transaction.atomic(using=db):
        entry = actions.new_entry(user, Action.REDRIVE, outcome=AuditEntry.Outcome.RUNNING)
        redrive = Redrive.objects.using(db).create(
            group=group, entry=entry, since=since, until=until, rate=dashboard_setting("REDRIVE_RATE"),
            limit=the_plan.limit, refusals=dict(the_plan.refused), beyond_limit=the_plan.beyond_limit,
        )
        RedriveItem.objects.using(db).bulk_create(
            [RedriveItem(redrive=redrive, task_id=task_id) for task_id in the_plan.to_send],
            batch_size=id_batch_size(), ignore_conflicts=True,
        )
        # Another run may have taken some of them since this one was planned: they are its.
        redrive.planned = RedriveItem.objects.using(db).filter(redrive=redrive).count()
        taken_by_another = len(the_plan.to_send) - redrive.planned
        if taken_by_another:
            redrive.refusals[RefusalKind.ALREADY_RETRIED] = (
                redrive.refusals.get(RefusalKind.ALREADY_RETRIED, 0) + taken_by_another)
        entry.task_count, entry.summary = redrive.planned, describe(redrive)
        entry.save(update_fields=["task_count", "summary"])
        redrive.save(update_fields=["planned", "refusals"])
    return redrive


def start(user, group, since, until, app=None):
    """Plan the run (as the dry run did), keep its items and queue its first slice; the ``Redrive``, or None.

    None when there is nothing to send. A broker that cannot be reached
    leaves the run failed, with its items released.
    """
    app = app or current_app._get_current_object()
    the_plan = plan(group, since, until, app)
    if not the_plan.to_send:
        return None
    redrive = _keep(user, group, since, until, the_plan)
    if not redrive.planned:
        finish(redrive, State.DONE)
        return redrive
    try:
        queue_slice(app, redrive.pk)
    except actions.BROKER_ERRORS as exc:
        finish(redrive, State.FAILED, broker_unreachable(_("Not started"), exc))
    return redrive


def broker_unreachable(what, exc):
    """A run's error when the broker cannot be reached: what happened to the run, then the broker's own error."""
    error = f"{type(exc).__name__}: {exc}"
    return _("%(what)s: the broker was unreachable (%(error)s).") % {"what": what, "error": error}


def queue_slice(app, redrive_id, countdown=None):
    """Send the Celery task that runs the next slice of ``redrive_id``."""
    app.send_task(TASK_NAME, args=[redrive_id], countdown=countdown, retry=True,
                  retry_policy=dashboard_setting("BROKER_RETRY_POLICY"))


# --- sending ------------------------------------------------------------------------


class Slice:
    """One slice of a run: send pending items, paced, until done, cancelled or out of time."""

    def __init__(self, redrive, app):
        self.redrive, self.app = redrive, app
        self.interval = 1 / redrive.rate if redrive.rate > 0 else 0
        self.deadline = time.monotonic() + dashboard_setting("REDRIVE_SLICE_SECONDS")
        self.next_send = time.monotonic()
        self.policy = dashboard_setting("BROKER_RETRY_POLICY")

    def run(self):
        """The state the run is left in (still running when the slice hands over to the next)."""
        while True:
            items = list(RedriveItem.objects.filter(redrive=self.redrive, new_task_id__isnull=True).order_by("id")
                         [:SEND_BATCH])
            if not items:
                return finish(self.redrive, State.DONE)
            ids = [item.task_id for item in items]
            rows = selectors.stored_tasks(ids, ("status", *actions.RETRY_FIELDS))
            # Retried alone (from its page) since it was planned: not sent a second time.
            retried = already_retried(ids, by_runs=False)
            for item in items:
                if time.monotonic() >= self.deadline:
                    return self.hand_over()
                if Redrive.objects.filter(pk=self.redrive.pk, cancel_requested=True).exists():
                    return finish(self.redrive, State.CANCELLED)
                error = self.send(item, rows.get(item.task_id), retried)
                if error:
                    return finish(self.redrive, State.FAILED, error)

    def send(self, item, task, retried):
        """Send ``item``'s task again, paced; an error text when the broker could not be reached."""
        kind = refusal_kind(task, self.app, retried)
        if kind is not None:  # changed since it was planned
            self.not_sent(item, kind)
            return None
        name, args, kwargs = actions.retry_call(task, self.app)
        new_id = str(uuid.uuid4())
        if not RedriveItem.objects.filter(pk=item.pk, new_task_id__isnull=True).update(new_task_id=new_id):
            return None  # released by a cancel meanwhile
        # Paced at the publish itself: no two messages closer than the interval.
        wait = self.next_send - time.monotonic()
        if wait > 0:
            time.sleep(wait)
        self.next_send = max(self.next_send, time.monotonic()) + self.interval
        try:
            self.app.send_task(name, args=args, kwargs=kwargs, task_id=new_id, retry=True, retry_policy=self.policy)
        except actions.BROKER_ERRORS as exc:
            RedriveItem.objects.filter(pk=item.pk).update(new_task_id=None)
            return broker_unreachable(_("Stopped"), exc)
        now = timezone.now()
        with transaction.atomic(using=router.db_for_write(RedriveItem)):
            RedriveItem.objects.filter(pk=item.pk).update(sent_at=now)
            AuditedTask.objects.create(entry_id=self.redrive.entry_id, task_id=item.task_id, ok=True,
                                       detail=_("Sent again as:"), new_task_id=new_id)
            Redrive.objects.filter(pk=self.redrive.pk).update(sent=F("sent") + 1, heartbeat=now)
        return None

    def not_sent(self, item, kind):
        with transaction.atomic(using=router.db_for_write(RedriveItem)):
            if not RedriveItem.objects.filter(pk=item.pk, new_task_id__isnull=True).delete()[0]:
                return
            redrive = Redrive.objects.select_for_update().get(pk=self.redrive.pk)
            redrive.refusals[kind] = redrive.refusals.get(kind, 0) + 1
            redrive.not_sent += 1
            redrive.save(update_fields=["refusals", "not_sent"])

    def hand_over(self):
        Redrive.objects.filter(pk=self.redrive.pk).update(lease_until=None, heartbeat=timezone.now())
        try:
            queue_slice(self.app, self.redrive.pk)
        except actions.BROKER_ERRORS as exc:
            return finish(self.redrive, State.FAILED, broker_unreachable(_("Stopped"), exc))
        return State.RUNNING


def run_slice(redrive_id, app=None):
    """Run one slice of run ``redrive_id`` (what ``dashboard.redrive_failures`` does); the run's state after it.

    Takes the run's lease first: a second message for the same run (a
    redelivery after a lost worker) waits until the lease ends, then goes
    on from the items not sent yet.
    """
    app = app or current_app._get_current_object()
    now = timezone.now()
    lease = now + timedelta(seconds=dashboard_setting("REDRIVE_SLICE_SECONDS") + LEASE_MARGIN)
    taken = Redrive.objects.filter(
        Q(lease_until__isnull=True) | Q(lease_until__lt=now),
        pk=redrive_id, state__in=(State.QUEUED, State.RUNNING), cancel_requested=False,
    ).update(state=State.RUNNING, lease_until=lease, heartbeat=now, started=Coalesce("started", now))
    redrive = Redrive.objects.filter(pk=redrive_id).first()
    if redrive is None or redrive.is_finished:
        return redrive.state if redrive else None
    if not taken:
        if redrive.cancel_requested:
            return finish(redrive, State.CANCELLED)
        queue_slice(app, redrive_id, countdown=max((redrive.lease_until - now).total_seconds(), 1))
        return redrive.state
    return Slice(redrive, app).run()


def finish(redrive, state, error=""):
    """End the run in ``state``: release what it did not send, settle its figures and its audit entry."""
    db = router.db_for_write(Redrive)
    with transaction.atomic(using=db):
        ended = Redrive.objects.using(db).filter(pk=redrive.pk, state__in=(State.QUEUED, State.RUNNING)).update(
            state=state, finished=timezone.now(), lease_until=None, error=error)
        if not ended:  # finished by someone else meanwhile
            redrive.refresh_from_db()
            return redrive.state
        RedriveItem.objects.using(db).filter(redrive=redrive, new_task_id__isnull=True).delete()
        items = RedriveItem.objects.using(db).filter(redrive=redrive)
        redrive.refresh_from_db()
        redrive.sent = items.filter(sent_at__isnull=False).count()
        redrive.not_sent = redrive.planned - redrive.sent
        redrive.save(update_fields=["sent", "not_sent"])
        entry = redrive.entry
        entry.succeeded = redrive.sent
        entry.outcome = (AuditEntry.Outcome.DONE if redrive.sent == redrive.planned and state == State.DONE
                         else AuditEntry.Outcome.PARTIAL if redrive.sent else AuditEntry.Outcome.FAILED)
        entry.summary = describe(redrive)
        entry.save(update_fields=["succeeded", "outcome", "summary"])
    return state


# --- cancelling -----------------------------------------------------------------------


def cancel(user, redrive):
    """Stop ``redrive`` before its next send; False when it had already finished.

    A slice that is sending stops itself (it checks before every send); a
    run with no slice at work (queued, or between slices) is finished here.
    """
    now = timezone.now()
    if not Redrive.objects.filter(pk=redrive.pk, state__in=(State.QUEUED, State.RUNNING)).update(
            cancel_requested=True, cancelled_by=user.get_username()):
        return False
    redrive.refresh_from_db()
    if redrive.lease_until is None or redrive.lease_until < now:
        finish(redrive, State.CANCELLED)
    return True

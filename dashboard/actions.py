"""Operator actions on task results: retry, revoke, terminate, delete, delete expired.

The work itself lives here, as plain functions the views call after the
operator confirmed; the views only parse the request and report. Each
action

- is gated (``refusal``): ``DJANGO_CELERY_RESULTS['ALLOW_EDITS']``, read on
  every call, and the Django permission the action needs;
- acts on at most ``ACTION_LIMIT`` tasks, reporting every task on its own
  (an unknown id, arguments that cannot be sent again, a broker that is
  down), so nothing is half-done silently;
- is recorded in the audit trail (``dashboard.models``), outcome included.

Messages go to Celery through the current Celery app (in the web process,
the project's app), never through an import of the project.
"""
import ast
import json
import logging
import weakref
from dataclasses import dataclass, field

from celery import current_app, states
from celery.utils.time import maybe_timedelta
from django.db import router, transaction
from django.db.models import TextChoices
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from kombu.exceptions import OperationalError

from results import sweeping
from results.backends.database import Resend
from results.conf import allow_edits, chord_firing_timeout, id_batch_size
from results.models import GroupResult, TaskResult
from results.utils import batched

from . import decoding, selectors
from .access import can_view_results
from .conf import dashboard_setting
from .models import AuditedTask, AuditEntry, FailureGroup

Action = AuditEntry.Action
logger = logging.getLogger(__name__)

CHANGE_PERMISSION = "results.change_taskresult"
DELETE_PERMISSION = "results.delete_taskresult"

#: The permission each action needs on top of ``ALLOW_EDITS``.
PERMISSIONS = {
    Action.RETRY: CHANGE_PERMISSION,
    Action.REVOKE: CHANGE_PERMISSION,
    Action.TERMINATE: CHANGE_PERMISSION,
    Action.DELETE: DELETE_PERMISSION,
    Action.DELETE_EXPIRED: DELETE_PERMISSION,
    # a failure group's state: the operators who may retry its tasks may decide what it is
    Action.RESOLVE: CHANGE_PERMISSION,
    Action.IGNORE: CHANGE_PERMISSION,
    Action.REOPEN: CHANGE_PERMISSION,
    # retrying a failure group's tasks in bulk (``dashboard.redrives``), and cancelling such a run
    Action.REDRIVE: CHANGE_PERMISSION,
    # publishing again the bodies of chords stuck firing (``results.sweeping``): what a retry may do
    Action.SWEEP_CHORDS: CHANGE_PERMISSION,
}

#: The state each failure group action leaves a group in (``REOPEN`` undoes a resolve or an ignore).
GROUP_STATES = {
    Action.RESOLVE: FailureGroup.State.RESOLVED,
    Action.IGNORE: FailureGroup.State.IGNORED,
    Action.REOPEN: FailureGroup.State.OPEN,
}

#: Errors that mean "the broker cannot be reached": the rest of a batch is not tried.
BROKER_ERRORS = (OperationalError, OSError, TimeoutError)

#: Longest stored argument text that is parsed back for a retry.
MAX_ARGUMENT_TEXT = 1_000_000

#: The columns a retry reads to send a task again.
RETRY_FIELDS = ("task_name", "task_args", "task_kwargs", "content_type", "content_encoding")


# --- gating ------------------------------------------------------------------


def refusal(user, action):
    """Why ``user`` may not run ``action`` now, or None when they may."""
    if not allow_edits():
        return _("The dashboard is read-only: DJANGO_CELERY_RESULTS['ALLOW_EDITS'] is off.")
    if not can_view_results(user):
        return _("Your account may not view task results.")
    permission = PERMISSIONS[action]
    if not user.has_perm(permission):
        return _("This action needs the %(permission)s permission.") % {"permission": permission}
    return None


def allowed_actions(user):
    """The set of actions ``user`` may run now (empty while edits are off)."""
    if not allow_edits():
        return frozenset()
    return frozenset(action for action in PERMISSIONS if refusal(user, action) is None)


# --- outcomes ------------------------------------------------------------------


@dataclass
class TaskOutcome:
    task_id: str
    ok: bool
    detail: str = ""
    new_task_id: str | None = None


@dataclass
class Outcome:
    """What an action did, task by task, and its audit entry."""

    action: str
    tasks: list = field(default_factory=list)
    summary: str = ""
    entry: AuditEntry | None = None
    refused: bool = False  # the action as a whole could not run

    @property
    def succeeded(self):
        return [t for t in self.tasks if t.ok]

    @property
    def failed(self):
        return [t for t in self.tasks if not t.ok]

    @property
    def status(self):
        if self.refused:
            return AuditEntry.Outcome.FAILED
        if not self.failed:
            return AuditEntry.Outcome.DONE
        return AuditEntry.Outcome.PARTIAL if self.succeeded else AuditEntry.Outcome.FAILED


def new_entry(user, action, **fields):
    """A saved audit entry of ``user``'s ``action``; ``fields`` are its figures (outcome, summary...)."""
    signed_in = getattr(user, "pk", None) is not None
    return AuditEntry.objects.using(router.db_for_write(AuditEntry)).create(
        user=user if signed_in else None, username=user.get_username() if signed_in else "", action=action, **fields
    )


def record(user, outcome):
    """Write ``outcome`` to the audit trail (one entry, one row per task) and return it."""
    db = router.db_for_write(AuditEntry)
    with transaction.atomic(using=db):
        outcome.entry = new_entry(
            user, outcome.action, task_count=len(outcome.tasks), succeeded=len(outcome.succeeded),
            outcome=outcome.status, summary=outcome.summary,
        )
        AuditedTask.objects.using(db).bulk_create(
            [
                AuditedTask(entry=outcome.entry, task_id=t.task_id, ok=t.ok, detail=t.detail, new_task_id=t.new_task_id)
                for t in outcome.tasks
            ],
            batch_size=id_batch_size(),
        )
    return outcome


# --- reading the tasks ------------------------------------------------------------


class Refused(Exception):
    """A task this action cannot be applied to; the message says why, ``kind`` which ``RefusalKind`` it is."""

    def __init__(self, message, kind="unparseable"):
        super().__init__(message)
        self.kind = kind


class RefusalKind(TextChoices):
    """Why a task is not sent again, by kind: what a bulk retry's dry run counts."""

    GONE = "gone", gettext_lazy("the stored result is gone (expired or deleted)")
    NOT_FAILED = "not_failed", gettext_lazy("stored again since, and no longer failed")
    NO_ID = "no_id", gettext_lazy("stored with an empty or unusable task id")
    NOT_STORED = "not_stored", gettext_lazy("no task name or arguments stored (result_extended was off)")
    TRUNCATED = "truncated", gettext_lazy("arguments cut by Celery (its argsrepr limit)")
    UNPARSEABLE = "unparseable", gettext_lazy("arguments masked by argsrepr, or not a list and mapping of literals")
    PICKLE = "pickle", gettext_lazy("arguments stored with pickle, which the dashboard never loads")
    UNREGISTERED = "unregistered", gettext_lazy("task name not registered in this Celery app")
    ALREADY_RETRIED = "already_retried", gettext_lazy("already retried (alone, or by another bulk retry)")


def task_id_refusal(task_id):
    """Why ``task_id`` cannot be a stored task's id, or None.

    Such an id is never looked up nor written to the audit trail: PostgreSQL
    refuses a NUL character in any query, and no database stores text that is
    not valid Unicode (a lone surrogate, which JSON's ``\\ud800`` can carry).
    An id longer than the audit trail's column would be stored whole by
    SQLite and refused by PostgreSQL (after the action was done): it is
    refused first, everywhere.
    """
    max_length = AuditedTask._meta.get_field("task_id").max_length
    if len(task_id) > max_length:
        return _("it is longer than the %(max)s characters a task id may have (%(n)s)") % {
            "max": max_length, "n": len(task_id),
        }
    if "\x00" in task_id:
        return _("it holds a NUL character")
    try:
        task_id.encode("utf-8")
    except UnicodeEncodeError:
        return _("it is not valid Unicode text")
    return None


def unique_ids(task_ids):
    """The ids once each, in order; ``ValueError`` for more than ``ACTION_LIMIT`` or an id that cannot be one."""
    ids = list(dict.fromkeys(str(task_id) for task_id in task_ids))
    limit = dashboard_setting("ACTION_LIMIT")
    if len(ids) > limit:
        raise ValueError(f"at most {limit} tasks per action, not {len(ids)}")
    for task_id in ids:
        reason = task_id_refusal(task_id)
        if reason:
            raise ValueError(f"{task_id!r} cannot be a task id: {reason}")
    return ids


def _unknown(task_id):
    return TaskOutcome(task_id, False, _("No stored result with this id (unknown, or already deleted)."))


def _not_sent(task_id, broker_error):
    return TaskOutcome(task_id, False, _("Not sent: the broker was unreachable (%(error)s).") % {"error": broker_error})


# --- retry ------------------------------------------------------------------------


def parse_stored_arguments(content, content_type, content_encoding, what):
    """The value of stored args or kwargs, as Celery can send it again; ``Refused`` if it cannot be trusted.

    The column holds the serialized ``argsrepr`` (a Python repr in a JSON
    string) or the arguments themselves. A string is read as JSON, else as a
    Python literal (``ast.literal_eval``: no code runs); anything else, or a
    repr that Celery cut (it ends with ``...``), is refused.
    """
    value, note = decoding.decode_stored(content, content_type, content_encoding)
    if note:
        if content_type == decoding.PICKLE_CONTENT_TYPE:
            raise Refused(
                _("The %(what)s are stored with pickle, which the dashboard never loads.") % {"what": what},
                RefusalKind.PICKLE,
            )
        value = content  # legacy rows: the repr as plain text
    if not isinstance(value, str):
        return value
    if decoding.looks_truncated(value):
        raise Refused(
            _(
                "The stored %(what)s look truncated (Celery cuts them at %(size)s characters): "
                "the full values were not stored."
            )
            % {"what": what, "size": decoding.ARGSREPR_MAXSIZE},
            RefusalKind.TRUNCATED,
        )
    if len(value) > MAX_ARGUMENT_TEXT:
        raise Refused(_("The stored %(what)s are too long to parse back.") % {"what": what}, RefusalKind.TRUNCATED)
    try:
        return json.loads(value)
    except ValueError:
        pass
    try:
        return ast.literal_eval(value)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        raise Refused(
            _("The stored %(what)s do not parse back (neither JSON nor a Python literal): %(text)s")
            % {"what": what, "text": value[:200]}
        ) from None


_apps_with_tasks_imported = weakref.WeakSet()


def registered_tasks(app):
    """The task registry of ``app``, with its task modules imported.

    A worker imports them when it starts (``include``, ``imports`` and the
    Django apps' ``tasks`` modules found by ``autodiscover_tasks``); a web
    process never does, so its registry would hold only Celery's own tasks.
    The same import is done here once per app.
    """
    if app not in _apps_with_tasks_imported:
        try:
            app.loader.import_default_modules()
        except Exception:  # a broken tasks module: its tasks show as unregistered, the rest still work
            logger.exception("Importing the Celery app's task modules failed")
        _apps_with_tasks_imported.add(app)
    return app.tasks


def retry_call(task, app):
    """``(name, args, kwargs)`` to send ``task`` again; ``Refused`` with the reason when it cannot be."""
    if not task.task_name:
        raise Refused(
            _("No task name stored (result_extended was off when it ran): it cannot be sent again."),
            RefusalKind.NOT_STORED,
        )
    if task.task_args is None or task.task_kwargs is None:
        raise Refused(
            _("No arguments stored (result_extended was off when it ran): it cannot be sent again."),
            RefusalKind.NOT_STORED,
        )
    encoding = (task.content_type, task.content_encoding)
    args = parse_stored_arguments(task.task_args, *encoding, _("positional arguments"))
    kwargs = parse_stored_arguments(task.task_kwargs, *encoding, _("keyword arguments"))
    if isinstance(args, tuple):
        args = list(args)
    if not isinstance(args, list):
        raise Refused(_("The stored positional arguments are not a list: %(value)r") % {"value": args})
    if not isinstance(kwargs, dict) or not all(isinstance(key, str) for key in kwargs):
        raise Refused(_("The stored keyword arguments are not a mapping of names: %(value)r") % {"value": kwargs})
    if task.task_name not in registered_tasks(app):
        raise Refused(
            _("The task %(name)s is not registered in this Celery app: the web process would send it blind.")
            % {"name": task.task_name},
            RefusalKind.UNREGISTERED,
        )
    return task.task_name, args, kwargs


def retry_refusals(task_ids, app=None):
    """``[(task_id, reason)]``: the tasks a retry would not send, and why (for the confirmation page)."""
    app = app or current_app._get_current_object()
    ids = unique_ids(task_ids)
    rows = selectors.stored_tasks(ids, RETRY_FIELDS)
    refused = []
    for task_id in ids:
        if task_id not in rows:
            refused.append((task_id, _unknown(task_id).detail))
            continue
        try:
            retry_call(rows[task_id], app)
        except Refused as exc:
            refused.append((task_id, str(exc)))
    return refused


def retry(user, task_ids, app=None):
    """Send each task again with its stored name and arguments; link the new id to the old one."""
    app = app or current_app._get_current_object()
    ids = unique_ids(task_ids)
    rows = selectors.stored_tasks(ids, RETRY_FIELDS)
    policy = dashboard_setting("BROKER_RETRY_POLICY")
    outcome = Outcome(Action.RETRY)
    broker_error = None
    for task_id in ids:
        task = rows.get(task_id)
        if task is None:
            outcome.tasks.append(_unknown(task_id))
            continue
        try:
            name, args, kwargs = retry_call(task, app)
        except Refused as exc:
            outcome.tasks.append(TaskOutcome(task_id, False, str(exc)))
            continue
        if broker_error is not None:
            outcome.tasks.append(_not_sent(task_id, broker_error))
            continue
        try:
            sent = app.send_task(name, args=args, kwargs=kwargs, retry=True, retry_policy=policy)
        except BROKER_ERRORS as exc:
            broker_error = f"{type(exc).__name__}: {exc}"
            outcome.tasks.append(_not_sent(task_id, broker_error))
            continue
        outcome.tasks.append(TaskOutcome(task_id, True, _("Sent again as:"), sent.id))
    outcome.summary = _summary(outcome, _("sent again"))
    return record(user, outcome)


# --- revoke / terminate ----------------------------------------------------------------


def revoke(user, task_ids, terminate=False, app=None):
    """Ask the workers (Celery control) to revoke the tasks that are not finished; terminate kills them if running."""
    app = app or current_app._get_current_object()
    ids = unique_ids(task_ids)
    rows = selectors.stored_tasks(ids, ("status",))
    outcome = Outcome(Action.TERMINATE if terminate else Action.REVOKE)
    to_revoke = []
    for task_id in ids:
        task = rows.get(task_id)
        if task is None:
            outcome.tasks.append(_unknown(task_id))
        elif task.status in states.READY_STATES:
            detail = _("Already finished (%(status)s): nothing to revoke.") % {"status": task.status}
            outcome.tasks.append(TaskOutcome(task_id, False, detail))
        else:
            to_revoke.append(task_id)
    if to_revoke:
        verb = _("terminated") if terminate else _("revoked")
        try:
            with app.connection_for_write() as connection:
                # Bounded: left to itself, a broadcast to a broker that is down retries for seconds.
                connection.ensure_connection(**dashboard_setting("BROKER_RETRY_POLICY"))
                app.control.revoke(to_revoke, terminate=terminate, signal="SIGTERM", connection=connection)
        except BROKER_ERRORS as exc:
            error = f"{type(exc).__name__}: {exc}"
            detail = _("Not %(verb)s: the broker was unreachable (%(error)s).") % {"verb": verb, "error": error}
            outcome.tasks.extend(TaskOutcome(task_id, False, detail) for task_id in to_revoke)
        else:
            detail = (
                _("Revoke sent to the workers (terminate with SIGTERM if running).")
                if terminate
                else _("Revoke sent to the workers.")
            )
            outcome.tasks.extend(TaskOutcome(task_id, True, detail) for task_id in to_revoke)
    order = {task_id: index for index, task_id in enumerate(ids)}
    outcome.tasks.sort(key=lambda task: order[task.task_id])
    outcome.summary = _summary(outcome, _("terminated") if terminate else _("revoked"))
    return record(user, outcome)


# --- delete ------------------------------------------------------------------------------


def delete(user, task_ids):
    """Delete the tasks' stored results, ``DELETE_BATCH_SIZE`` rows per short transaction."""
    ids = unique_ids(task_ids)
    batch_size = dashboard_setting("DELETE_BATCH_SIZE")
    db = router.db_for_write(TaskResult)
    outcome = Outcome(Action.DELETE)
    for batch in batched(ids, batch_size):
        with transaction.atomic(using=db):
            rows = TaskResult.objects.using(db).filter(task_id__in=batch)
            found = set(rows.select_for_update().values_list("task_id", flat=True))
            if found:
                TaskResult.objects.using(db).filter(task_id__in=found).delete()
        for task_id in batch:
            outcome.tasks.append(TaskOutcome(task_id, True, _("Deleted.")) if task_id in found else _unknown(task_id))
    outcome.summary = _summary(outcome, _("deleted"))
    return record(user, outcome)


def result_expires(app=None):
    """The configured ``result_expires`` (a timedelta), or None when results never expire."""
    app = app or current_app._get_current_object()
    expires = app.conf.result_expires
    return maybe_timedelta(expires) if expires else None


def delete_expired(user, app=None):
    """Delete task and group results older than ``result_expires`` (in batches, via the managers)."""
    expires = result_expires(app)
    outcome = Outcome(Action.DELETE_EXPIRED)
    if expires is None:
        outcome.summary = _("Nothing deleted: result_expires is not set, so results never expire.")
        outcome.refused = True
        return record(user, outcome)
    tasks = TaskResult.objects.delete_expired(expires)
    groups = GroupResult.objects.delete_expired(expires)
    outcome.summary = _(
        "Deleted %(tasks)s expired task result(s) and %(groups)s group result(s) older than %(expires)s."
    ) % {"tasks": tasks, "groups": groups, "expires": expires}
    return record(user, outcome)


def _summary(outcome, verb):
    done, failed = len(outcome.succeeded), len(outcome.failed)
    text = ngettext("%(n)s task %(verb)s", "%(n)s tasks %(verb)s", done) % {"n": done, "verb": verb}
    if failed:
        text += ngettext("; %(n)s not", "; %(n)s not", failed) % {"n": failed}
    return text + "."


def set_group_state(user, digest: str, action: str) -> Outcome:
    """Resolve, ignore or reopen the failure group ``digest``; audited, the state it was in included.

    A resolved group becomes regressed when it fails after ``resolved_at``
    (the statistics pass); reopening forgets the resolve.
    """
    state = GROUP_STATES[action]
    db = router.db_for_write(FailureGroup)
    now = timezone.now()
    with transaction.atomic(using=db):
        group = FailureGroup.objects.using(db).select_for_update().filter(digest=digest).first()
        if group is None:
            outcome = Outcome(action, refused=True, summary=_("no failure group %(digest)s") % {"digest": digest})
            return record(user, outcome)
        before = group.state
        group.state, group.state_changed = state, now
        group.resolved_at = now if state == FailureGroup.State.RESOLVED else None
        group.save(using=db, update_fields=["state", "state_changed", "resolved_at"])
        cause = f"{group.exception_type or '?'}" + (f" in {group.where}" if group.where else "")
        summary = _("failure group %(digest)s (%(cause)s): %(before)s → %(after)s") % {
            "digest": digest, "cause": cause, "before": before, "after": state}
        return record(user, Outcome(action, summary=summary))


def sweep_chords(user, app=None) -> Outcome:
    """Publish the body of every chord firing for longer than ``CHORD_FIRING_TIMEOUT``; audited chord by chord.

    What the ``results.sweep_chords`` periodic task does, for an operator who
    will not wait for it. Only chords stuck past the timeout are touched: a
    younger one may still be published by its own worker.
    """
    outcome = Outcome(Action.SWEEP_CHORDS)
    report = sweeping.sweep(app or current_app._get_current_object())
    for chord in report.chords:
        detail = _("chord %(group)s: %(what)s") % {"group": chord.group_id, "what": Resend(chord.outcome).label}
        ok = chord.outcome in (Resend.SENT, Resend.ALREADY_SENT)
        outcome.tasks.append(TaskOutcome(chord.body_task_id or chord.group_id, ok, detail))
    if not outcome.tasks:
        outcome.summary = _("No chord was firing for longer than %(seconds)s s: nothing to send.") % {
            "seconds": f"{chord_firing_timeout():g}"}
        return record(user, outcome)
    outcome.summary = _(
        "%(sent)s chord body(ies) sent again, %(stored)s already had a result, %(left)s left for a later sweep."
    ) % {"sent": report.count(Resend.SENT), "stored": report.count(Resend.ALREADY_SENT), "left": len(outcome.failed)}
    return record(user, outcome)

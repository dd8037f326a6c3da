"""The audit trail of operator actions: who did what to which tasks, and how it went.

One ``AuditEntry`` per action an operator confirmed (a retry of 300 tasks is
one entry), and one ``AuditedTask`` per task it touched, with that task's
own outcome. The per-task rows are what a task's page reads (an index on
``task_id``), and a retry's row links the original task to the task it sent
(``new_task_id``, indexed too, so the new task's page finds its original).
"""
from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from results.conf import task_id_max_length

# The statistics tables are this app's models too (``dashboard.statistics``).
from .statistics.models import Activity, Bucket, CountedTask, Failure, FailureGroup, RetiredTotal, RollupState

__all__ = [
    "Activity", "AuditEntry", "AuditedTask", "Bucket", "CountedTask", "Failure", "FailureGroup", "Redrive",
    "RedriveItem", "RetiredTotal", "RollupState", "SavedView",
]


class AuditEntry(models.Model):
    class Action(models.TextChoices):
        RETRY = "retry", _("Retry")
        REVOKE = "revoke", _("Revoke")
        TERMINATE = "terminate", _("Terminate")
        DELETE = "delete", _("Delete")
        DELETE_EXPIRED = "delete_expired", _("Delete expired")
        RESOLVE = "resolve", _("Resolve")
        IGNORE = "ignore", _("Ignore")
        REOPEN = "reopen", _("Reopen")
        REDRIVE = "redrive", _("Retry a failure group")
        SWEEP_CHORDS = "sweep_chords", _("Re-send stuck chord bodies")

    class Outcome(models.TextChoices):
        DONE = "done", _("Done")
        PARTIAL = "partial", _("Partly done")
        FAILED = "failed", _("Failed")
        RUNNING = "running", _("Running")  # a re-drive still sending

    created = models.DateTimeField(auto_now_add=True, db_index=True, verbose_name=_("When"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("User")
    )
    # Kept as text too: the entry must still say who it was after the account is gone.
    username = models.CharField(max_length=150, verbose_name=_("Who"))
    action = models.CharField(max_length=20, choices=Action.choices, verbose_name=_("Action"))
    task_count = models.PositiveIntegerField(default=0, verbose_name=_("Tasks"))
    succeeded = models.PositiveIntegerField(default=0, verbose_name=_("Succeeded"))
    outcome = models.CharField(max_length=10, choices=Outcome.choices, verbose_name=_("Outcome"))
    summary = models.TextField(blank=True, verbose_name=_("Summary"))

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")

    def __str__(self):
        return f"{self.username} {self.action} {self.task_count} task(s) ({self.outcome})"


class AuditedTask(models.Model):
    """One task an action touched, and what happened to it."""

    entry = models.ForeignKey(AuditEntry, on_delete=models.CASCADE, related_name="tasks")
    task_id = models.CharField(max_length=task_id_max_length(), db_index=True)
    ok = models.BooleanField()
    detail = models.TextField(blank=True)
    # For a retry: the id of the task it sent.
    new_task_id = models.CharField(max_length=task_id_max_length(), null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.task_id}: {'ok' if self.ok else 'not done'}"



class Redrive(models.Model):
    """One run re-driving a failure group's tasks since a chosen time: what was planned, and how far it got.

    Planned in the web request (``dashboard.redrives.plan``, the dry run's
    very figures), sent by a Celery task on the user's workers, paced and
    in slices (``dashboard.tasks.redrive_failures``). The tasks it will send
    are its ``RedriveItem`` rows; those refused are only counted, by kind
    (``refusals``). Its audit entry links every task sent, old to new.
    """

    class State(models.TextChoices):
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("running")
        DONE = "done", _("done")
        CANCELLED = "cancelled", _("cancelled")
        FAILED = "failed", _("failed")

    FINISHED = (State.DONE, State.CANCELLED, State.FAILED)

    group = models.ForeignKey(FailureGroup, on_delete=models.CASCADE, related_name="redrives")
    entry = models.OneToOneField(AuditEntry, on_delete=models.PROTECT, related_name="redrive")
    since = models.DateTimeField()
    until = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.QUEUED)
    rate = models.FloatField()  # tasks per second
    limit = models.PositiveIntegerField()
    planned = models.PositiveIntegerField(default=0)
    refusals = models.JSONField(default=dict)  # refusal kind -> tasks
    beyond_limit = models.PositiveBigIntegerField(default=0)  # failures since ``since`` left for a later run
    sent = models.PositiveIntegerField(default=0)
    not_sent = models.PositiveIntegerField(default=0)  # planned, then refused when sending, or never sent
    created = models.DateTimeField(auto_now_add=True)
    started = models.DateTimeField(null=True)
    finished = models.DateTimeField(null=True)
    heartbeat = models.DateTimeField(null=True)  # the last slice's last step
    lease_until = models.DateTimeField(null=True)  # a slice running until then: no second one at once
    cancel_requested = models.BooleanField(default=False)
    cancelled_by = models.CharField(max_length=150, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created", "-id"]

    def __str__(self):
        return f"re-drive {self.pk} of {self.group_id}: {self.state}, {self.sent}/{self.planned} sent"

    @property
    def is_finished(self):
        return self.state in self.FINISHED

    @property
    def refused(self):
        return sum(self.refusals.values())

    @property
    def pending(self):
        return 0 if self.is_finished else max(self.planned - self.sent - self.not_sent, 0)


class RedriveItem(models.Model):
    """A task a re-drive sends, or sent: unique per task id, so two runs never send the same task.

    ``new_task_id`` is set just before the message is published (and
    ``sent_at`` once it was): a slice that crashed in between never sends
    that task a second time. The rows a run did not send are deleted when
    it ends, so a later run may take them.
    """

    redrive = models.ForeignKey(Redrive, on_delete=models.CASCADE, related_name="items")
    task_id = models.CharField(max_length=task_id_max_length(), unique=True)
    new_task_id = models.CharField(max_length=task_id_max_length(), null=True, blank=True)
    sent_at = models.DateTimeField(null=True)

    class Meta:
        indexes = [models.Index(fields=["redrive", "new_task_id", "id"], name="dashboard_redriveitem_pending")]

    def __str__(self):
        return f"{self.task_id} -> {self.new_task_id or '(not sent yet)'}"


class SavedView(models.Model):
    """A list's filters and sort under a name a user chose ("payments failing on web-3").

    ``query`` is the list's query string in shareable form, without paging
    (``dashboard.saved_views`` normalises and validates it), so opening the
    view is a link: the list's URL and ``query``. A view is its owner's
    unless ``shared``: then the whole team sees it (sharing needs
    ``dashboard.share_savedview``). Names are unique per owner and list,
    compared without regard to case (MariaDB's collation would anyway).
    """

    class List(models.TextChoices):
        TASKS = "tasks", _("Tasks")
        GROUPS = "groups", _("Groups")
        FAILURES = "failures", _("Failures")

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("Owner")
    )
    name = models.CharField(max_length=100, verbose_name=_("Name"))
    list_name = models.CharField(max_length=20, choices=List.choices, verbose_name=_("List"))
    query = models.TextField(blank=True, verbose_name=_("Filters and sort"))
    shared = models.BooleanField(default=False, verbose_name=_("Shared with the team"))
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["owner", "list_name", "name"], name="dashboard_savedview_unique_name"),
        ]
        indexes = [models.Index(fields=["list_name", "shared"], name="dashboard_savedview_shared")]
        permissions = [("share_savedview", _("Can share a saved view with the team"))]
        verbose_name = _("saved view")
        verbose_name_plural = _("saved views")

    def __str__(self):
        return f"{self.name} ({self.list_name}{', shared' if self.shared else ''})"

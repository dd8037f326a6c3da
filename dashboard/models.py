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
from .statistics.models import Activity, Bucket, CountedTask, Failure, FailureGroup, RollupState

__all__ = [
    "Activity", "AuditEntry", "AuditedTask", "Bucket", "CountedTask", "Failure", "FailureGroup", "RollupState",
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

    class Outcome(models.TextChoices):
        DONE = "done", _("Done")
        PARTIAL = "partial", _("Partly done")
        FAILED = "failed", _("Failed")

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


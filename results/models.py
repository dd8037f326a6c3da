"""Database models of Celery results: tasks, groups and chord counters."""
import json

from celery import states
from celery.result import GroupResult as CeleryGroupResult
from celery.result import result_from_tuple
from django.db import models
from django.utils.translation import gettext_lazy as _

from .conf import task_id_max_length
from .managers import GroupResultManager, TaskResultManager

# Custom states are allowed, so the column has no choices; this list only
# labels the states Celery itself knows about.
ALL_STATES = sorted(states.ALL_STATES)
TASK_STATE_CHOICES = sorted(zip(ALL_STATES, ALL_STATES, strict=True))


class TaskResult(models.Model):
    """The last known state of one Celery task, as its worker stored it."""

    task_id = models.CharField(
        max_length=task_id_max_length(),
        unique=True,
        verbose_name=_("Task ID"),
        help_text=_("Celery ID of the task"),
    )
    periodic_task_name = models.CharField(
        null=True,
        max_length=255,
        verbose_name=_("Periodic Task Name"),
        help_text=_("Name of the periodic task (beat schedule entry) that sent this task"),
    )
    task_name = models.CharField(
        null=True,
        max_length=task_id_max_length(),
        verbose_name=_("Task Name"),
        help_text=_("Registered name of the task that ran"),
    )
    task_args = models.TextField(
        null=True,
        verbose_name=_("Task Positional Arguments"),
        help_text=_("Serialized positional arguments the task was called with"),
    )
    task_kwargs = models.TextField(
        null=True,
        verbose_name=_("Task Named Arguments"),
        help_text=_("Serialized keyword arguments the task was called with"),
    )
    status = models.CharField(
        max_length=50,
        default=states.PENDING,
        verbose_name=_("Task State"),
        help_text=_("Current state of the task"),
    )
    worker = models.CharField(
        max_length=100,
        default=None,
        null=True,
        verbose_name=_("Worker"),
        help_text=_("Hostname of the worker that ran the task"),
    )
    content_type = models.CharField(
        max_length=128,
        verbose_name=_("Result Content Type"),
        help_text=_("Content type of the serialized result"),
    )
    content_encoding = models.CharField(
        max_length=64,
        verbose_name=_("Result Encoding"),
        help_text=_("Encoding of the serialized result"),
    )
    result = models.TextField(
        null=True,
        default=None,
        editable=False,
        verbose_name=_("Result Data"),
        help_text=_("The value the task returned, or its exception, serialized"),
    )
    date_created = models.DateTimeField(
        auto_now_add=True,
        verbose_name=_("Created DateTime"),
        help_text=_("When the result row was first written"),
    )
    date_started = models.DateTimeField(
        null=True,
        default=None,
        verbose_name=_("Started DateTime"),
        help_text=_("When a worker started the task (needs task_track_started)"),
    )
    date_done = models.DateTimeField(
        auto_now=True,
        verbose_name=_("Completed DateTime"),
        help_text=_("When the task's state last changed"),
    )
    traceback = models.TextField(
        blank=True,
        null=True,
        verbose_name=_("Traceback"),
        help_text=_("Text of the traceback, if the task raised an exception"),
    )
    meta = models.TextField(
        null=True,
        default=None,
        editable=False,
        verbose_name=_("Task Meta Information"),
        help_text=_("Serialized extra information about the task, such as its children"),
    )

    objects = TaskResultManager()

    class Meta:
        ordering = ["-date_done"]
        verbose_name = _("task result")
        verbose_name_plural = _("task results")
        indexes = [
            models.Index(fields=["task_name"], name="results_task_name_idx"),
            models.Index(fields=["status"], name="results_task_status_idx"),
            models.Index(fields=["worker"], name="results_task_worker_idx"),
            models.Index(fields=["date_created"], name="results_task_created_idx"),
            models.Index(fields=["date_done"], name="results_task_done_idx"),
            models.Index(fields=["periodic_task_name"], name="results_task_periodic_idx"),
            # The dashboard's lists: each filter, then the default order
            # (newest first, id as tie-breaker), so a filtered page is one
            # index range read in order, at any depth of cursor paging.
            # (Unfiltered, the date_done index above serves that order.)
            models.Index(fields=["status", "date_done", "id"], name="results_task_status_done_idx"),
            models.Index(fields=["worker", "date_done", "id"], name="results_task_worker_done_idx"),
            models.Index(fields=["worker", "status", "date_done", "id"], name="results_task_wrk_st_done_idx"),
            models.Index(fields=["task_name", "date_done", "id"], name="results_task_name_done_idx"),
            models.Index(fields=["periodic_task_name", "date_done", "id"], name="results_task_periodic_done_idx"),
            # Task id prefix search (LIKE 'abc%') needs no index of its own:
            # Django gives task_id's unique index a varchar_pattern_ops twin
            # ("..._like") on PostgreSQL, and MySQL's unique index serves it.
        ]

    def __str__(self):
        return f"<Task: {self.task_id} ({self.status})>"

    def as_dict(self):
        return {
            "task_id": self.task_id,
            "task_name": self.task_name,
            "task_args": self.task_args,
            "task_kwargs": self.task_kwargs,
            "status": self.status,
            "result": self.result,
            "date_done": self.date_done,
            "traceback": self.traceback,
            "meta": self.meta,
            "worker": self.worker,
        }


class ChordCounter(models.Model):
    """How many header tasks of a running chord have yet to return.

    Created when the chord is applied; each header task that finishes
    decrements ``count``, and the one that brings it to zero calls the body.
    ``returned`` remembers which header tasks have returned, so that a task
    delivered twice (``acks_late`` and a lost worker) is counted once.

    The part that decides to call the body does not delete the counter: it
    marks it *firing* (``fired_at``, with the body's signature and its
    deterministic task id) in the deciding transaction, and deletes it once
    the body is published. A worker lost in between leaves the counter
    firing, and the sweeper (``results.sweeping``) publishes the body again:
    the body is sent at least once, never lost.
    """

    group_id = models.CharField(
        max_length=task_id_max_length(),
        unique=True,
        verbose_name=_("Group ID"),
        help_text=_("Celery ID of the chord header group"),
    )
    sub_tasks = models.TextField(
        help_text=_("JSON list of the header tasks' result tuples"),
    )
    count = models.PositiveIntegerField(
        help_text=_("Header tasks that have not returned yet; starts at the header size"),
    )
    returned = models.TextField(
        null=True,
        default=None,
        editable=False,
        help_text=_(
            "One character per header task, in header order (nested groups flattened): "
            "1 once it has returned, else 0. Empty for counters written by other backends."
        ),
    )
    fired_at = models.DateTimeField(
        null=True,
        default=None,
        editable=False,
        db_index=True,
        verbose_name=_("Firing since"),
        help_text=_(
            "When the header completed and the body was decided on; set until the body is published "
            "(then the counter is deleted). Empty while the header runs."
        ),
    )
    body_task_id = models.CharField(
        max_length=task_id_max_length(),
        null=True,
        default=None,
        editable=False,
        verbose_name=_("Body task ID"),
        help_text=_("The body's task id, fixed before its first publish: every publish of the body has it"),
    )
    body = models.TextField(
        null=True,
        default=None,
        editable=False,
        help_text=_("The body's signature, as the header's messages carried it (JSON: serializer and payload)"),
    )

    def __str__(self):
        if self.fired_at is not None:
            return f"<ChordCounter: {self.group_id} (firing)>"
        return f"<ChordCounter: {self.group_id} ({self.count} left)>"

    @property
    def firing(self):
        """The header is complete and the body decided on, but its publish is not confirmed yet."""
        return self.fired_at is not None

    def header_task_ids(self):
        """Ids of the tasks the header waits for, in order, nested groups flattened."""
        return list(flatten_result_tuples(json.loads(self.sub_tasks)))

    def group_result(self, app=None):
        """The header as a ``celery.result.GroupResult`` of its sub-task results."""
        return CeleryGroupResult(
            self.group_id,
            [result_from_tuple(sub_task, app=app) for sub_task in json.loads(self.sub_tasks)],
            app=app,
        )


def flatten_result_tuples(result_tuples):
    """Task ids in result tuples (``AsyncResult.as_tuple()``), the members of nested groups in their place.

    A task's tuple is ``[[id, parent], None]``; a group's is ``[[id, parent], [members...]]``.
    """
    for (task_id, _parent), members in result_tuples:
        if members is None:
            yield task_id
        else:
            yield from flatten_result_tuples(members)


class GroupResult(models.Model):
    """The stored result of a Celery group: the ids of its member tasks."""

    group_id = models.CharField(
        max_length=task_id_max_length(),
        unique=True,
        verbose_name=_("Group ID"),
        help_text=_("Celery ID of the group"),
    )
    date_created = models.DateTimeField(
        auto_now_add=True,
        verbose_name=_("Created DateTime"),
        help_text=_("When the group result was first written"),
    )
    date_done = models.DateTimeField(
        auto_now=True,
        verbose_name=_("Completed DateTime"),
        help_text=_("When the group result was last written"),
    )
    content_type = models.CharField(
        max_length=128,
        verbose_name=_("Result Content Type"),
        help_text=_("Content type of the serialized result"),
    )
    content_encoding = models.CharField(
        max_length=64,
        verbose_name=_("Result Encoding"),
        help_text=_("Encoding of the serialized result"),
    )
    result = models.TextField(
        null=True,
        default=None,
        editable=False,
        verbose_name=_("Result Data"),
        help_text=_("The serialized group: its id and its members' result tuples"),
    )

    objects = GroupResultManager()

    class Meta:
        ordering = ["-date_done"]
        verbose_name = _("group result")
        verbose_name_plural = _("group results")
        indexes = [
            models.Index(fields=["date_created"], name="results_group_created_idx"),
            models.Index(fields=["date_done"], name="results_group_done_idx"),
        ]

    def __str__(self):
        return f"<Group: {self.group_id}>"

    def as_dict(self):
        return {
            "group_id": self.group_id,
            "result": self.result,
            "date_done": self.date_done,
        }

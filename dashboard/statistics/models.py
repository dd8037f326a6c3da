"""The statistics tables: figures per time bucket, and what the pass has counted.

They belong to the ``dashboard`` app (``results`` stays as its users know
it) and outlive the results they were counted from: expiring results
changes no past figure.
"""
from django.db import models
from django.utils.translation import gettext_lazy as _

from results.conf import task_id_max_length
from results.models import TaskResult

from ..fingerprints import DIGEST_LENGTH as FINGERPRINT_LENGTH
from .buckets import DAY, HOUR, MINUTE, QUARTER


class Dimension(models.TextChoices):
    ALL = "a", _("all tasks")
    TASK_NAME = "t", _("task name")
    WORKER = "w", _("worker")
    PERIODIC = "p", _("periodic task")
    FAILURE = "f", _("failure group")


class Granularity(models.TextChoices):
    MINUTE_ = MINUTE, _("minute")
    QUARTER_ = QUARTER, _("quarter hour")
    HOUR_ = HOUR, _("hour")
    DAY_ = DAY, _("day")


class Bucket(models.Model):
    """Tasks that finished in one time bucket, for one task name, worker or periodic task (or all), in one state.

    ``runtime`` and ``wait`` are histograms (``histogram.encode``) of their
    runtimes (``date_done - date_started``) and queue waits (``date_started
    - date_created``), in milliseconds; a task stored without a start time
    is counted but has neither.
    """

    granularity = models.CharField(max_length=1, choices=Granularity.choices)
    start = models.DateTimeField()
    dimension = models.CharField(max_length=1, choices=Dimension.choices)
    key = models.CharField(max_length=task_id_max_length(), blank=True)
    status = models.CharField(max_length=50)
    count = models.PositiveBigIntegerField(default=0)
    runtime = models.TextField(blank=True, default="")
    wait = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["granularity", "dimension", "key", "start", "status"], name="dashboard_bucket_unique"
            ),
        ]
        indexes = [models.Index(fields=["granularity", "dimension", "start"], name="dashboard_bucket_dim_start")]

    def __str__(self):
        return f"{self.granularity} {self.start:%Y-%m-%d %H:%M} {self.dimension}:{self.key} {self.status} {self.count}"


class RetiredTotal(models.Model):
    """What pruning removed from the day buckets, per dimension, key and state: the totals never go back.

    ``/metrics`` serves counters since the statistics began (Prometheus
    counters only grow): the sum of the day buckets kept, plus these.
    ``prune`` adds a day bucket here in the transaction that deletes it.
    """

    dimension = models.CharField(max_length=1, choices=Dimension.choices)
    key = models.CharField(max_length=task_id_max_length(), blank=True)
    status = models.CharField(max_length=50)
    count = models.PositiveBigIntegerField(default=0)
    runtime = models.TextField(blank=True, default="")
    wait = models.TextField(blank=True, default="")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dimension", "key", "status"], name="dashboard_retiredtotal_unique"),
        ]

    def __str__(self):
        return f"{self.dimension}:{self.key} {self.status} {self.count} (pruned)"


class CountedTask(models.Model):
    """A result row as the pass counted it: when it is stored again, its old figures are taken back first.

    Keyed by the result row's own id (no foreign key: results expire,
    statistics stay). Kept for ``STATISTICS_RECOUNT_DAYS``.
    """

    row_id = models.BigIntegerField(primary_key=True)
    date_done = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=50)
    task_name = models.CharField(max_length=task_id_max_length(), blank=True)
    worker = models.CharField(max_length=100, blank=True)
    periodic_task_name = models.CharField(max_length=255, blank=True)
    runtime_ms = models.FloatField(null=True)
    wait_ms = models.FloatField(null=True)
    fingerprint = models.CharField(max_length=FINGERPRINT_LENGTH, blank=True, default="")  # of a FAILURE

    def __str__(self):
        return f"row {self.row_id} ({self.status})"


class RollupState(models.Model):
    """Where the pass stands: the (``date_done``, id) of the last row it counted. One row."""

    done_until = models.DateTimeField(null=True)
    done_until_id = models.BigIntegerField(default=0)
    updated = models.DateTimeField(null=True)
    counted = models.PositiveBigIntegerField(default=0)

    def __str__(self):
        return f"statistics up to {self.done_until} (row {self.done_until_id})"


class Activity(models.Model):
    """The latest result counted for one task name, worker or periodic task, exactly (not per bucket).

    Kept by the pass as it counts, so "last seen", "last failure" and a
    periodic task's usual interval need no scan of the results or of the
    buckets. ``gaps`` (periodic tasks only) holds the seconds between its
    latest runs, oldest first, space-separated: the usual interval is
    their median.
    """

    dimension = models.CharField(max_length=1, choices=Dimension.choices)
    key = models.CharField(max_length=task_id_max_length())
    last_done = models.DateTimeField()
    last_row_id = models.BigIntegerField()
    last_status = models.CharField(max_length=50)
    last_failure = models.DateTimeField(null=True)
    gaps = models.TextField(blank=True, default="")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dimension", "key"], name="dashboard_activity_unique")]

    def __str__(self):
        return f"{self.dimension}:{self.key} last {self.last_status} at {self.last_done:%Y-%m-%d %H:%M:%S}"

    @property
    def gap_seconds(self) -> list[float]:
        return [float(gap) for gap in self.gaps.split()]


class FailureGroup(models.Model):
    """The failures that share a cause (``fingerprints.Fingerprint``), and what the operators decided about it.

    Its figures (``count``, first and last seen, a sample, the task names
    and workers involved) are kept by the statistics pass as it counts the
    FAILURE rows; counts per time bucket are ``Bucket`` rows of the
    ``failure group`` dimension. ``state`` is the operators': resolved and
    ignored are set by hand; a resolved group that fails again after
    ``resolved_at`` becomes regressed, by the pass.
    """

    class State(models.TextChoices):
        OPEN = "open", _("open")
        RESOLVED = "resolved", _("resolved")
        REGRESSED = "regressed", _("regressed")
        IGNORED = "ignored", _("ignored")

    digest = models.CharField(max_length=FINGERPRINT_LENGTH, unique=True)
    exception_type = models.CharField(max_length=200, blank=True)
    message = models.TextField(blank=True)  # normalised
    where = models.CharField(max_length=255, blank=True)
    count = models.PositiveBigIntegerField(default=0)
    first_seen = models.DateTimeField(null=True)
    last_seen = models.DateTimeField(null=True, db_index=True)
    sample_row_id = models.BigIntegerField(null=True)  # the latest failure counted: its traceback is the sample
    task_names = models.TextField(blank=True, default="")  # one per line, sorted, the first NAMES_KEPT
    workers = models.TextField(blank=True, default="")
    state = models.CharField(max_length=10, choices=State.choices, default=State.OPEN)
    resolved_at = models.DateTimeField(null=True)
    state_changed = models.DateTimeField(null=True, db_index=True)  # the failures pages' ETag reads its latest

    def __str__(self):
        return f"{self.digest} {self.exception_type}: {self.message[:60]} ({self.count})"

    @property
    def task_name_list(self) -> list[str]:
        return self.task_names.split("\n") if self.task_names else []

    @property
    def worker_list(self) -> list[str]:
        return self.workers.split("\n") if self.workers else []


class Failure(models.Model):
    """Which failure group a FAILURE row is in: what ``?fingerprint=`` filters the task list on.

    Keyed by the result row's id. The key is a relation for queries only:
    the database holds no constraint (results expire before their
    statistics, and the workers' deletes must not wait on this table), and
    deleting a result touches nothing here. Through it the task list joins
    a group's entries and pages them in their own index order,
    ``TaskResult.objects.filter(dashboard_failure__digest=...)``. It holds
    the row's ``date_done`` when it was counted: a row stored again is
    fingerprinted again.
    """

    row = models.OneToOneField(
        TaskResult, primary_key=True, db_constraint=False, on_delete=models.DO_NOTHING,
        related_name="dashboard_failure",
    )
    digest = models.CharField(max_length=FINGERPRINT_LENGTH)
    date_done = models.DateTimeField(db_index=True)  # pruned by it
    task_name = models.CharField(max_length=task_id_max_length(), blank=True)
    worker = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [models.Index(fields=["digest", "date_done", "row"], name="dashboard_failure_digest_done")]

    def __str__(self):
        return f"row {self.row_id} in {self.digest}"

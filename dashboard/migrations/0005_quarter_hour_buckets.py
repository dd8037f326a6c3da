"""Quarter-hour buckets, summed from the minute buckets already stored.

The 24-hour window is drawn and tiled from quarter hours from now on.
Statistics outlive the results they were counted from, so the quarter
hours of the figures kept are summed from their minutes (kept 3 days
until now, as long as quarter hours are by default), never counted again
from results. Histograms are
in the packed form (migration 0004); the two functions that add them are
this migration's own: the app's may change after it.
"""
from datetime import timedelta

from django.db import migrations, models

LANE_BITS, LANE_DIGITS = 40, 10
QUARTER = timedelta(minutes=15)
BATCH = 2000


def _packed(text):
    if not text:
        return 0
    low, _, lanes = text.partition(";")
    return int(lanes, 16) << (LANE_BITS * int(low))


def _text(total):
    if total <= 0:
        return ""
    digits = format(total, "x")
    digits = "0" * (-len(digits) % LANE_DIGITS) + digits
    kept = digits.rstrip("0")
    empty_low_lanes = (len(digits) - len(kept)) // LANE_DIGITS
    return f"{empty_low_lanes};{digits[: len(digits) - empty_low_lanes * LANE_DIGITS]}"


def sum_quarters(apps, schema_editor):
    bucket = apps.get_model("dashboard", "Bucket")
    using = schema_editor.connection.alias
    quarters = {}
    minutes = bucket.objects.using(using).filter(granularity="m").values_list(
        "start", "dimension", "key", "status", "count", "runtime", "wait"
    )
    for start, dimension, key, status, count, runtime, wait in minutes.iterator(chunk_size=BATCH):
        quarter = start - timedelta(minutes=start.minute % 15, seconds=start.second, microseconds=start.microsecond)
        total = quarters.setdefault((quarter, dimension, key, status), [0, 0, 0])
        total[0] += count
        total[1] += _packed(runtime)
        total[2] += _packed(wait)
    bucket.objects.using(using).bulk_create(
        (
            bucket(granularity="q", start=start, dimension=dimension, key=key, status=status, count=count,
                   runtime=_text(runtime), wait=_text(wait))
            for (start, dimension, key, status), (count, runtime, wait) in quarters.items()
        ),
        batch_size=BATCH,
    )


def forget_quarters(apps, schema_editor):
    apps.get_model("dashboard", "Bucket").objects.using(schema_editor.connection.alias).filter(
        granularity="q"
    ).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("dashboard", "0004_packed_histograms"),
    ]

    operations = [
        migrations.AlterField(
            model_name="bucket",
            name="granularity",
            field=models.CharField(
                choices=[("m", "minute"), ("q", "quarter hour"), ("h", "hour"), ("d", "day")], max_length=1
            ),
        ),
        migrations.RunPython(sum_quarters, forget_quarters),
    ]

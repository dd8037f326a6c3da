"""Stored histograms rewritten from ``"bin:count bin:count"`` to the packed form ``histogram.encode`` writes.

Statistics outlive the results they were counted from, so they are
converted, never rebuilt. The two forms are told apart by their ``;``
(the packed form's only separator) and each is written here by a function
of this migration: the app's own may change after it.
"""
from django.db import migrations

LANE_DIGITS = 10
BATCH = 2000


def _bins(text):
    counts = {}
    for item in text.split():
        b, _, n = item.partition(":")
        counts[int(b)] = counts.get(int(b), 0) + int(n)
    return {b: n for b, n in counts.items() if n > 0}


def _packed(text):
    if not text or ";" in text:
        return text
    counts = _bins(text)
    if not counts:
        return ""
    low, high = min(counts), max(counts)
    return f"{low};" + "".join(f"{counts.get(b, 0):0{LANE_DIGITS}x}" for b in range(high, low - 1, -1))


def _unpacked(text):
    if not text or ";" not in text:
        return text
    low, _, lanes = text.partition(";")
    high = int(low) + len(lanes) // LANE_DIGITS - 1
    counts = [int(lanes[i : i + LANE_DIGITS], 16) for i in range(0, len(lanes), LANE_DIGITS)]
    return " ".join(f"{high - i}:{n}" for i, n in reversed(list(enumerate(counts))) if n)


def _rewrite(convert):
    def rewrite(apps, schema_editor):
        bucket = apps.get_model("dashboard", "Bucket")
        rows = bucket.objects.using(schema_editor.connection.alias).exclude(runtime="", wait="").order_by("pk")
        last = 0
        while True:
            batch = list(rows.filter(pk__gt=last).only("pk", "runtime", "wait")[:BATCH])
            if not batch:
                return
            for row in batch:
                row.runtime, row.wait = convert(row.runtime), convert(row.wait)
            bucket.objects.using(schema_editor.connection.alias).bulk_update(batch, ["runtime", "wait"])
            last = batch[-1].pk

    return rewrite


class Migration(migrations.Migration):

    dependencies = [
        ("dashboard", "0003_activity"),
    ]

    operations = [
        migrations.RunPython(_rewrite(_packed), _rewrite(_unpacked), elidable=True),
    ]

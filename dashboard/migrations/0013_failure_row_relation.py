"""``Failure.row_id`` becomes the key of a relation to the result row, in Django's state only.

The column, its type (bigint), the primary key and the group index stay as
they are: the relation has no database constraint, so nothing is altered.
"""
import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("dashboard", "0012_audit_sweep_chords"),
        ("results", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="failure", name="dashboard_failure_digest_done"),
                migrations.RenameField(model_name="failure", old_name="row_id", new_name="row"),
                migrations.AlterField(
                    model_name="failure",
                    name="row",
                    field=models.OneToOneField(
                        db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True,
                        related_name="dashboard_failure", serialize=False, to="results.taskresult",
                    ),
                ),
                migrations.AddIndex(
                    model_name="failure",
                    index=models.Index(fields=["digest", "date_done", "row"], name="dashboard_failure_digest_done"),
                ),
            ],
        ),
    ]

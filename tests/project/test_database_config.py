"""``env.database_config``: the ``DATABASES`` entry of a database URL, tuned per vendor."""
import pytest
from django.db import connection

from dashboard_project.env import database_config

NO_PARALLEL_WORKERS = "-c max_parallel_workers_per_gather=0"


@pytest.mark.once
def test_postgresql_connections_plan_no_parallel_workers_unless_the_url_says_otherwise(tmp_path):
    assert database_config("postgres://u@db:5432/d", tmp_path / "t.sqlite3")["OPTIONS"]["options"] == (
        NO_PARALLEL_WORKERS
    )
    own = database_config("postgres://u@db:5432/d?options=-c%20work_mem%3D64MB", tmp_path / "t.sqlite3")
    assert own["OPTIONS"]["options"] == "-c work_mem=64MB"
    assert "options" not in database_config("mysql://root@db:3306/d", tmp_path / "t.sqlite3")["OPTIONS"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL setting")
@pytest.mark.django_db
def test_the_projects_postgresql_connection_plans_no_parallel_workers():
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"

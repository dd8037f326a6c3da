"""``/metrics``: off by default, a bearer token, and figures equal to the raw rows: counters, histograms, gauges;
counters that never go back when old figures are pruned; label values escaped; few queries."""
import re
from datetime import timedelta

import pytest
from celery import states
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard import metrics
from dashboard.models import RetiredTotal
from dashboard.statistics import rollup
from results.models import ChordCounter, TaskResult

from .test_insights import counted

pytestmark = pytest.mark.django_db

TOKEN = "scrape-token-0123456789"
LINE = re.compile(r'^(?P<metric>[a-z_]+)(?:\{(?P<labels>.*)\})? (?P<value>\S+)$')
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@pytest.fixture
def token(settings):
    settings.DASHBOARD = {"METRICS_TOKEN": TOKEN}


def scrape(client=None):
    response = (client or Client()).get(reverse("dashboard:metrics"), headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == metrics.CONTENT_TYPE
    samples = {}
    for line in response.content.decode().splitlines():
        if line.startswith("#"):
            continue
        found = LINE.match(line)
        assert found, line
        labels = tuple(sorted(LABEL.findall(found["labels"] or "")))
        samples[(found["metric"], labels)] = float(found["value"])
    return samples


def finished(make_task, name, status, runtime, ago=timedelta(minutes=30), worker="celery@a"):
    done = timezone.now() - ago
    return make_task(task_name=name, status=status, worker=worker, date_created=done - runtime - timedelta(seconds=1),
                     date_started=done - runtime, date_done=done)


@pytest.fixture
def history(make_task):
    for runtime in (0.02, 0.2, 2.0, 2.0, 40.0):
        finished(make_task, "shop.charge", states.SUCCESS, timedelta(seconds=runtime))
    finished(make_task, "shop.charge", states.FAILURE, timedelta(seconds=0.3), ago=timedelta(days=3))
    finished(make_task, 'odd "name"\nwith a line', states.REVOKED, timedelta(seconds=1), worker="celery@b")
    ChordCounter.objects.create(group_id="g-1", sub_tasks="[]", count=2)
    counted()


def test_off_by_default_and_the_token_is_required(client, settings):
    assert client.get(reverse("dashboard:metrics")).status_code == 404
    settings.DASHBOARD = {"METRICS_TOKEN": TOKEN}
    response = client.get(reverse("dashboard:metrics"))
    assert response.status_code == 401 and response["WWW-Authenticate"].startswith("Bearer")
    assert client.get(reverse("dashboard:metrics"), headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get(reverse("dashboard:metrics"), headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.post("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 405


def test_counters_equal_the_raw_rows_and_label_values_are_escaped(history, token):
    samples = scrape()
    for name in TaskResult.objects.values_list("task_name", flat=True).distinct():
        for status, (metric, _help) in metrics.COUNTERS.items():
            raw = TaskResult.objects.filter(task_name=name, status=status).count()
            assert samples[(metric, (("name", metrics.escape(name)),))] == raw, (metric, name)
    assert (("name", 'odd \\"name\\"\\nwith a line'),) in {labels for _metric, labels in samples}


def test_histograms_are_cumulative_and_place_each_runtime_within_a_bin(history, token):
    samples = scrape()

    def bucket(le):
        return samples[("celery_task_runtime_bucket", (("le", le), ("name", "shop.charge")))]

    bounds = [metrics.format_bound(bound) for bound in metrics.BOUNDS] + ["+Inf"]
    counts = [bucket(le) for le in bounds]
    assert counts == sorted(counts) and counts[-1] == 6  # five successes and a failure
    assert samples[("celery_task_runtime_count", (("name", "shop.charge"),))] == 6
    assert (bucket("0.025"), bucket("0.25"), bucket("2.5"), bucket("60")) == (1, 2, 5, 6)  # 0.3 s: before 0.5
    assert bucket("1") == 3 and bucket("0.01") == 0
    runtime_sum = samples[("celery_task_runtime_sum", (("name", "shop.charge"),))]
    assert runtime_sum == pytest.approx(0.02 + 0.2 + 2 + 2 + 40 + 0.3, rel=0.05)
    assert samples[("celery_task_queue_wait_count", (("name", "shop.charge"),))] == 6


def test_gauges(history, token):
    samples = scrape()
    assert samples[("celery_chords_running", ())] == 1
    assert samples[("celery_failure_groups", (("state", "open"),))] >= 0
    assert samples[("celery_statistics_age_seconds", ())] >= 0
    last = TaskResult.objects.filter(worker="celery@b").get().date_done.timestamp()
    assert samples[("celery_worker_last_result_timestamp_seconds", (("hostname", "celery@b"),))] == pytest.approx(last)


def test_counters_never_go_back_when_old_figures_are_pruned(history, token, settings):
    before = scrape()
    settings.DASHBOARD = {"METRICS_TOKEN": TOKEN, "STATISTICS_RETENTION_DAYS": 1, "STATISTICS_HOUR_DAYS": 1}
    while rollup.prune():
        pass
    assert RetiredTotal.objects.filter(status=states.FAILURE).exists()  # the failure three days ago
    after = scrape()
    counters = {key for key in before if key[0].endswith("_total") or key[0].endswith(("_count", "_bucket"))}
    assert {key: after[key] for key in counters} == {key: before[key] for key in counters}


def test_a_scrape_reads_few_queries(history, token, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        scrape()

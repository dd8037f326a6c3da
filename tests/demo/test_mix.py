"""The demo mix sends every kind of outcome, with secrets hidden (messages captured, no broker)."""
import random
from collections import Counter

import pytest
from celery import current_app

from demo import catalog, mix, tasks
from results.models import ChordCounter, GroupResult

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    """Capture what would be published: (task name, args, kwargs, options)."""
    messages = []
    app = current_app._get_current_object()

    def send_task(name, args=None, kwargs=None, task_id=None, result_cls=None, **options):
        task_id = task_id or f"captured-{len(messages)}"
        messages.append((name, tuple(args or ()), dict(kwargs or {}), options))
        return (result_cls or app.AsyncResult)(task_id, app=app)

    monkeypatch.setattr(app, "send_task", send_task)
    return messages


def test_burst_sends_every_scenario(sent):
    total = mix.send_burst(random.Random(1))
    # Each chord's body is sent later, by the worker that brings its counter to zero.
    assert total == len(sent) + ChordCounter.objects.count()
    assert ChordCounter.objects.count() == 3
    names = Counter(name for name, *_ in sent)
    assert set(names) >= {
        catalog.SEND_INVOICE, catalog.CHARGE_CARD, catalog.SEND_PASSWORD_RESET, catalog.DELIVER_WEBHOOK,
        catalog.BUILD_DAILY_REPORT, catalog.EXPORT_CSV, catalog.SEND_WELCOME_EMAIL, catalog.GENERATE_THUMBNAIL,
        catalog.TRACK_EVENT,
    }
    emails = [args[1] for name, args, _, _ in sent if name == catalog.SEND_INVOICE]
    assert any(tasks.FLAKY_MAIL_DOMAIN in e for e in emails) and any(tasks.BOUNCING_MAIL_DOMAIN in e for e in emails)
    urls = [args[0] for name, args, _, _ in sent if name == catalog.DELIVER_WEBHOOK]
    assert any(tasks.FLAKY_WEBHOOK_HOST in u for u in urls) and any(tasks.DEAD_WEBHOOK_HOST in u for u in urls)
    assert any(options.get("expires") for _, _, _, options in sent)


def test_secrets_are_hidden_from_the_results(sent):
    mix.charge(random.Random(2))
    mix.password_reset(random.Random(3))
    (_, charge_args, _, charge_options), (_, _, reset_kwargs, reset_options) = sent
    assert charge_args[2].startswith("tok_") and charge_options["argsrepr"].endswith("'****')")
    assert charge_args[2] not in charge_options["argsrepr"]
    assert reset_options["kwargsrepr"] == "{'token': '********'}"
    assert reset_kwargs["token"] not in reset_options["kwargsrepr"]


def test_chords_have_a_counter_and_a_saved_header(sent):
    mix.gallery(random.Random(4), size=12, broken=True)
    counter = ChordCounter.objects.get()
    assert counter.count == 12
    assert GroupResult.objects.filter(group_id=counter.group_id).exists()
    images = [args[0] for name, args, _, _ in sent if name == catalog.GENERATE_THUMBNAIL]
    assert len(images) == 12 and sum(image % 100 == tasks.BROKEN_IMAGE_SUFFIX for image in images) == 1


def test_group_is_saved(sent):
    result = mix.welcome_group(random.Random(5))
    assert 8 <= result.tasks <= 15
    assert GroupResult.objects.count() == 1


def test_trickle_stops_when_asked(sent):
    rounds = []
    mix.trickle(random.Random(6), 0.01, report=rounds.append, should_stop=lambda: len(rounds) >= 5)
    assert len(rounds) == 5 and len(sent) >= 5


def test_trickle_goes_on_after_a_failed_send(sent, monkeypatch, caplog):
    calls = []

    def flaky(rng):
        calls.append(rng)
        if len(calls) == 1:
            raise OSError("broker folder is gone")
        return mix.Sent(1, "something")

    monkeypatch.setattr(mix, "SCENARIOS", ((flaky, 1, 1),))
    rounds = []
    mix.trickle(random.Random(7), 0.01, report=rounds.append, should_stop=lambda: len(calls) >= 3)
    assert len(rounds) == 2
    assert "Could not send the flaky scenario" in caplog.text

"""``dashboard.forms``: the live-refresh choices the list and chord forms share, and the action forms' id field."""
import json

import pytest

from dashboard.forms import ActionForm, ChordOptionsForm, InsightsOptionsForm, ListOptionsForm, refresh_choices


def test_refresh_choices_put_off_first_then_every_interval():
    assert refresh_choices(("", "off"), (2, 30)) == [("", "off"), ("2", "every 2 s"), ("30", "every 30 s")]


def test_a_list_offers_off_and_the_configured_intervals_in_their_order(settings):
    settings.DASHBOARD = {"REFRESH_INTERVALS": (30, 5)}
    form = ListOptionsForm({"refresh": "5"})
    assert form.fields["refresh"].choices == [("", "off"), ("30", "every 30 s"), ("5", "every 5 s")]
    assert form.is_valid() and form.cleaned_data["refresh"] == 5
    assert not ListOptionsForm({"refresh": "7"}).is_valid()
    unset = ListOptionsForm({})
    assert unset.is_valid() and unset.cleaned_data["refresh"] is None


def test_the_chords_offer_paused_and_the_sorted_intervals_with_their_default(settings):
    settings.DASHBOARD = {"REFRESH_INTERVALS": (30, 5), "CHORDS_REFRESH": 2}
    form = ChordOptionsForm({"refresh": "0"})
    assert [value for value, _ in form.fields["refresh"].choices] == ["0", "2", "5", "30"]
    assert form.interval() == 0
    assert ChordOptionsForm({"refresh": "7"}).interval() == 2  # not offered: the default
    assert ChordOptionsForm({}).interval() == 2


@pytest.mark.parametrize(
    "value, error",
    [
        ("not json", "not valid JSON"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        (json.dumps({"a": 1}), "JSON list of task ids"),
        (json.dumps([]), "JSON list of task ids"),
        (json.dumps([1]), "JSON list of task ids"),
        (json.dumps(["a\x00b"]), "NUL character"),
        (json.dumps(["x" * 300]), "longer than"),
    ],
)
def test_the_confirmed_ids_are_refused_with_the_reason(db, value, error):
    form = ActionForm({"task_ids": value})
    assert not form.is_valid()
    assert error in " ".join(form.errors["task_ids"])


def test_the_confirmed_ids_come_back_once_each_in_order(db, settings):
    form = ActionForm({"task_ids": json.dumps(["b", "a", "b", ""])})
    assert form.is_valid() and form.cleaned_data["task_ids"] == ["b", "a", ""]
    settings.DASHBOARD = {"ACTION_LIMIT": 2}
    assert "At most 2 tasks" in str(ActionForm({"task_ids": json.dumps(["a", "b", "c"])}).errors)


@pytest.mark.parametrize(
    ("data", "window", "refresh", "errors"),
    [
        ({}, "24h", 10, []),
        ({"window": "7d", "refresh": "0"}, "7d", 0, []),
        ({"window": "90d", "refresh": "30"}, "24h", 30, ["window"]),
        ({"window": "1h", "refresh": "abc"}, "1h", 10, ["refresh"]),
    ],
)
def test_the_insights_window_and_refresh_fall_back_to_their_defaults_one_by_one(data, window, refresh, errors):
    form = InsightsOptionsForm(data)
    assert (form.chosen_window().name, form.interval(), sorted(form.errors)) == (window, refresh, errors)

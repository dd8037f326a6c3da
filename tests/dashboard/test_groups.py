"""The group list and a group's page with its members' states."""
import base64
import json
import pickle

import pytest
from django.urls import reverse

from tests import factories

URL = reverse("dashboard:groups")


def group_tuple(group_id, task_ids):
    """What Celery's ``GroupResult.as_tuple()`` looks like once stored as JSON."""
    return json.dumps([[group_id, None], [[[task_id, None], None] for task_id in task_ids]])


def test_group_list_newest_first_and_filterable(client_viewer, make_group):
    make_group(group_id="alpha-1")
    make_group(group_id="beta-1")
    response = client_viewer.get(URL)
    assert response.status_code == 200
    assert [row.record.group_id for row in response.context["table"].paginated_rows] == ["beta-1", "alpha-1"]
    filtered = client_viewer.get(URL + "?q=alp")
    assert [row.record.group_id for row in filtered.context["table"].paginated_rows] == ["alpha-1"]
    partial = client_viewer.get(URL + "?q=alp", headers={"HX-Request": "true", "HX-Target": "group-results"})
    assert b"<html" not in partial.content and partial["HX-Push-Url"] == URL + "?q=alp"


def test_group_list_bad_input(client_viewer, db):
    assert client_viewer.get(URL + "?date_done_after=nope").status_code == 400
    assert client_viewer.get(URL + "?cursor=garbage").status_code == 400
    assert client_viewer.get(URL + "?sort=nonsense").status_code == 200


def test_group_detail_breaks_members_down_by_status(client_viewer, make_task, make_group):
    ok = [make_task(status="SUCCESS") for _ in range(3)]
    bad = make_task(status="FAILURE", task_name="shop.bad")
    group = make_group(result=group_tuple("g1", [t.task_id for t in ok] + [bad.task_id, "never-ran"]))
    response = client_viewer.get(reverse("dashboard:group", args=[group.group_id]))
    assert response.status_code == 200
    breakdown = {status: n for status, n, tone, share in response.context["breakdown"]}
    assert breakdown == {"SUCCESS": 3, "FAILURE": 1, "PENDING": 1}
    assert response.context["member_count"] == 5
    html = response.content.decode()
    assert reverse("dashboard:task", args=[bad.task_id]) in html and "shop.bad" in html
    assert "no result stored yet" in html


def test_group_stored_in_the_short_form_and_nested_groups(client_viewer, make_task, make_group):
    a, b = make_task(), make_task(status="RETRY")
    result = json.dumps(["g2", [[[a.task_id, None], None], [["inner", None], [[[b.task_id, None], None]]]]])
    group = make_group(result=result)
    response = client_viewer.get(reverse("dashboard:group", args=[group.group_id]))
    assert response.context["member_count"] == 2
    assert reverse("dashboard:group", args=["inner"]) in response.content.decode()


def test_pickled_group_is_not_unpickled(client_viewer, make_group):
    payload = base64.b64encode(pickle.dumps(("g3", [(("t1", None), None)]))).decode()
    group = make_group(result=payload, content_type="application/x-python-serialize", content_encoding="binary")
    response = client_viewer.get(reverse("dashboard:group", args=[group.group_id]))
    assert response.status_code == 200
    assert "not decoded" in response.content.decode()


def test_group_with_garbage_result_still_renders(client_viewer, make_group):
    for result in ("{not json", json.dumps({"a": 1}), None, json.dumps([1, 2, 3])):
        group = make_group(result=result)
        assert client_viewer.get(reverse("dashboard:group", args=[group.group_id])).status_code == 200


def test_group_members_partial_and_live_refresh(client_viewer, make_task, make_group):
    task = make_task()
    group = make_group(result=group_tuple("g4", [task.task_id]))
    url = reverse("dashboard:group", args=[group.group_id]) + "?refresh=2"
    partial = client_viewer.get(url, headers={"HX-Request": "true", "HX-Target": "group-members"})
    assert b"<html" not in partial.content and b'id="group-members"' in partial.content
    assert b"every 2s" in partial.content
    assert partial["HX-Push-Url"] == url
    assert client_viewer.get(reverse("dashboard:group", args=[group.group_id]) + "?refresh=3").status_code == 400


def test_unknown_group_is_a_404_with_a_search_box(client_viewer, db):
    response = client_viewer.get(reverse("dashboard:group", args=["nope"]))
    assert response.status_code == 404 and b'name="q"' in response.content


@pytest.mark.parametrize("asked", ["ABC", "abc ", "\x08", "CHORD"])
def test_a_group_id_that_only_the_databases_collation_matches_is_a_404(client_viewer, make_group, asked):
    """MariaDB's collation finds ``abc`` for ``ABC``, the empty id for ``\\x08``, a chord ``chord`` for ``CHORD``."""
    make_group(group_id="abc")
    make_group(group_id="")
    factories.chord_counter(group_id="chord")
    assert client_viewer.get(reverse("dashboard:group", args=[asked])).status_code == 404


def test_group_escaping(client_viewer, make_task, make_group):
    evil = "<script>alert(1)</script>"
    task = make_task(task_name=evil, worker=evil)
    group = make_group(group_id="<b>g</b>", result=group_tuple(evil, [task.task_id, evil]))
    html = client_viewer.get(reverse("dashboard:group", args=[group.group_id])).content.decode()
    assert "<script>alert" not in html and "<b>g</b>" not in html
    html = client_viewer.get(URL).content.decode()
    assert "<b>g</b>" not in html


def test_group_detail_query_count(client_viewer, make_task, make_group, django_assert_max_num_queries):
    tasks = [make_task() for _ in range(30)]
    group = make_group(result=group_tuple("g5", [t.task_id for t in tasks]))
    with django_assert_max_num_queries(7):
        client_viewer.get(reverse("dashboard:group", args=[group.group_id]))

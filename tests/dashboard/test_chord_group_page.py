"""A running chord's header group, which Celery does not store, has a page read from its counter."""
import uuid

from django.urls import reverse

from tests import factories

HTMX_POLL = {"HX-Request": "true", "HX-Target": "group-members", "HX-Trigger": "group-members"}


def test_a_running_chord_has_a_group_page_from_its_counter(client_viewer, make_task):
    done, waiting = make_task(status="SUCCESS"), str(uuid.uuid4())
    group_id = str(uuid.uuid4())
    factories.chord_counter([done.task_id, waiting], group_id=group_id, count=1)

    response = client_viewer.get(reverse("dashboard:group", args=[group_id]))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Chord running: 1 of 2 header tasks still to return." in html
    assert done.task_id in html and waiting in html
    assert [task_id for task_id, _ in response.context["members"]] == [done.task_id, waiting]


def test_a_live_refresh_after_the_chord_finished_stops_polling(client_viewer, db):
    group_id = str(uuid.uuid4())
    poll = client_viewer.get(reverse("dashboard:group", args=[group_id]), {"refresh": 2}, headers=HTMX_POLL)
    assert poll.status_code == 286  # htmx: stop polling
    assert "This chord has finished" in poll.content.decode()
    assert client_viewer.get(reverse("dashboard:group", args=[group_id])).status_code == 404  # a whole page: not found

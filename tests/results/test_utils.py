"""``results.utils.batched``: the one helper every chunked ``IN (...)`` query uses."""
from results.utils import batched


def test_slices_of_at_most_the_size_in_order():
    assert list(batched(list(range(7)), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(batched([], 3)) == []


def test_any_iterable_is_read_once_into_slices():
    assert list(batched((n for n in range(4)), 2)) == [[0, 1], [2, 3]]


def test_the_size_defaults_to_the_id_batch_size_setting(settings):
    settings.DJANGO_CELERY_RESULTS = {"ID_BATCH_SIZE": 2}
    assert [len(batch) for batch in batched(list(range(5)))] == [2, 2, 1]
    settings.DJANGO_CELERY_RESULTS = {}
    assert [len(batch) for batch in batched(list(range(1001)))] == [500, 500, 1]

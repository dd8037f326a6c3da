"""Small helpers shared by the models, managers and backends."""
from django.utils import timezone


def now():
    """The current time: aware UTC when ``USE_TZ`` is on, naive local time otherwise."""
    return timezone.now()

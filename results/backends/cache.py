"""A Celery result backend over Django's cache framework.

Configure it with ``result_backend = "results.backends:CacheBackend"``; it
uses ``caches[app.conf.cache_backend]`` when that Celery setting names a
cache, else the default cache. Entries expire after ``result_expires``.
Chords use Celery's ``chord_unlock`` fallback, since Django's cache API has
no atomic counter that creates its key.
"""
from celery.backends.base import KeyValueStoreBackend
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from kombu.utils.encoding import bytes_to_str


class CacheBackend(KeyValueStoreBackend):
    """Task and group results as entries of a Django cache."""

    #: Keys are text, as Django's cache API expects them.
    key_t = bytes_to_str

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The cache pickles what it stores, so the meta dict is stored as it
        # is; exceptions must stay exceptions, hence the pickle serializer.
        self.serializer = "pickle"

    @property
    def cache_backend(self):
        """The Django cache in use, looked up on each call (settings may change)."""
        return caches[self.app.conf.cache_backend or DEFAULT_CACHE_ALIAS]

    def encode(self, data):
        return data

    def decode(self, data):
        return data

    def get(self, key):
        return self.cache_backend.get(bytes_to_str(key))

    def mget(self, keys):
        """Values of ``keys`` in order, ``None`` for the missing ones, in one round trip."""
        keys = [bytes_to_str(key) for key in keys]
        found = self.cache_backend.get_many(keys)
        return [found.get(key) for key in keys]

    def set(self, key, value):
        self.cache_backend.set(bytes_to_str(key), value, self._timeout())

    def delete(self, key):
        self.cache_backend.delete(bytes_to_str(key))

    def _timeout(self):
        """Seconds until an entry expires; ``None`` (never) when ``result_expires`` is unset or 0."""
        return self.expires or None

    def as_uri(self, *args, **kwargs):
        return f"django-cache://{self.app.conf.cache_backend or DEFAULT_CACHE_ALIAS}"

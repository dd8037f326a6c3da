"""Celery result backends of the ``results`` app.

``result_backend = "results.backends:DatabaseBackend"`` stores results in
the database; ``"results.backends:CacheBackend"`` in a Django cache.
"""
from .cache import CacheBackend
from .database import DatabaseBackend

__all__ = ["CacheBackend", "DatabaseBackend"]

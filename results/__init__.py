"""Celery task results stored in the Django database.

A drop-in equivalent of django-celery-results: the same models, managers,
result backends, admin and JSON views, under the ``results`` app label.
"""

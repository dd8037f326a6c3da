from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ResultsConfig(AppConfig):
    name = "results"
    label = "results"
    verbose_name = _("Celery Results")
    default_auto_field = "django.db.models.BigAutoField"

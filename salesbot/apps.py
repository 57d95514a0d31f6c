from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SalesbotConfig(AppConfig):
    name = "salesbot"
    verbose_name = "Salesbot pipeline"

    def ready(self):
        from salesbot import checks  # noqa: F401  (registers the start-up and deploy checks)

        post_migrate.connect(_after_migrate, sender=self)


def _after_migrate(**kwargs):
    from salesbot.pipeline.schedules import ensure_schedules

    ensure_schedules()

from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SalesbotConfig(AppConfig):
    name = "salesbot"
    verbose_name = "Salesbot pipeline"

    def ready(self):
        from fans.signals import handed_off
        from salesbot import (
            checks,  # noqa: F401  (registers the start-up and deploy checks)
            security,  # noqa: F401  (login, lockout and token signals → SecurityEvent)
        )

        post_migrate.connect(_after_migrate, sender=self)
        handed_off.connect(_close_drafts, dispatch_uid="salesbot.close_drafts_on_handoff")


def _close_drafts(fan, **kwargs):
    from salesbot.pipeline.drafts import supersede_for_fan

    supersede_for_fan(fan)


def _after_migrate(**kwargs):
    from salesbot.pipeline.schedules import ensure_schedules

    ensure_schedules()

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_migrate, post_save


class SalesbotConfig(AppConfig):
    name = "salesbot"
    verbose_name = "Salesbot pipeline"

    def ready(self):
        from fans.signals import left_the_bot
        from salesbot import (
            checks,  # noqa: F401  (registers the start-up and deploy checks)
            security,  # noqa: F401  (login, lockout and token signals → SecurityEvent)
        )

        post_migrate.connect(_after_migrate, sender=self)
        from django_q.signals import post_spawn

        # Each qcluster worker process watches for what a crash or an outage left (salesbot.pipeline.recovery).
        post_spawn.connect(_start_recovery, dispatch_uid="salesbot.recovery_ticker")
        left_the_bot.connect(_close_drafts, dispatch_uid="salesbot.close_drafts_when_the_fan_left_the_bot")
        left_the_bot.connect(_route_to_a_person, dispatch_uid="salesbot.route_on_handoff")
        from models_registry.models import Creator, PlaybookSection, ResponseTemplate, VaultItem

        # What replies cache of a creator (pipeline.creator_cache) is read afresh after an edit.
        for model in (Creator, PlaybookSection, ResponseTemplate, VaultItem):
            for signal in (post_save, post_delete):
                signal.connect(_forget_creator_cache, sender=model, dispatch_uid=f"salesbot.prefix.{model.__name__}")


def _forget_creator_cache(sender, instance, **kwargs):
    from salesbot.pipeline import creator_cache

    creator_cache.forget(instance.pk if sender.__name__ == "Creator" else instance.creator_id)


def _close_drafts(fan, **kwargs):
    from salesbot.pipeline.drafts import supersede_for_fan

    supersede_for_fan(fan)


def _route_to_a_person(fan, why, **kwargs):
    """Once the hand-off is committed, give the fan to an on-duty chatter of the creator (if one has room)."""
    from django.db import transaction

    if why != "handed_off":
        return

    from salesbot.inbox.assignment import assign_waiting

    creator_id = fan.creator_id
    transaction.on_commit(lambda: assign_waiting([creator_id]))


def _start_recovery(**kwargs):
    from django_q.conf import Conf

    from salesbot import tasks

    if Conf.SYNC:  # a task run inline (sync mode, tests): no cluster process to watch from
        return
    tasks.start_recovery_ticker()


def _after_migrate(**kwargs):
    from salesbot.pipeline.schedules import ensure_schedules

    ensure_schedules()

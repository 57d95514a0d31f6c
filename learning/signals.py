"""Keep the stats counters (learning.stats.counters) right when rows go away or a creator is created.

A deleted Action or Outcome (admin, a deleted fan's cascade, the shell) takes its counts away in the
deleting transaction. A creator's own deletion is left alone: its counters go with it (CASCADE), and a
delta appended for it then would point at a deleted creator.
"""

from django.db.models import QuerySet
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from fans.models import Fan
from learning.models import Action, Outcome
from learning.stats import cells, counters
from models_registry.models import Creator


def _deleting(origin, model) -> bool:
    return isinstance(origin, model) or (isinstance(origin, QuerySet) and origin.model is model)


@receiver(post_save, sender=Creator, dispatch_uid="learning_rollup_new_creator")
def _creator_saved(sender, instance, created, raw=False, **kwargs):
    if created and not raw:
        counters.mark_built(instance.pk)


@receiver(post_delete, sender=Action, dispatch_uid="learning_rollup_action_deleted")
def _action_deleted(sender, instance, origin=None, **kwargs):
    if not _deleting(origin, Creator):
        counters.record(instance.creator_id, cells.action_cells(instance, sign=-1))


@receiver(post_delete, sender=Outcome, dispatch_uid="learning_rollup_outcome_deleted")
def _outcome_deleted(sender, instance, origin=None, **kwargs):
    if _deleting(origin, Creator):
        return
    counters.outcomes_added(instance.creator_id, -1)
    if instance.event in (Outcome.Event.PURCHASED, Outcome.Event.REPLIED) and not _deleting(origin, Fan):
        fan = Fan.objects.filter(pk=instance.fan_id).values("creator_id").first()
        if fan:
            counters.refresh_buyer(instance.fan_id, fan["creator_id"])

from django.contrib import admin
from django.db import transaction

from learning import rollup
from learning.models import Action, Outcome


@admin.register(Action)
class ActionAdmin(admin.ModelAdmin):
    list_display = ["ts", "fan", "action", "content_key", "price", "hook", "fan_state", "source", "status",
                    "purchased", "ghosted"]
    list_filter = ["creator", "action", "source", "status", "hook", "fan_state", "purchased", "ghosted"]
    search_fields = ["=fan__fan_id", "content_key", "reason", "error"]
    date_hierarchy = "ts"
    raw_id_fields = ["fan"]

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        """A staff edit moves the action's counts in the stats counters (old out, new in)."""
        old = Action.objects.select_for_update().filter(pk=obj.pk).first() if change else None
        super().save_model(request, obj, form, change)
        if old is not None:
            rollup.record(old.creator_id, rollup.action_cells(old, sign=-1))
        rollup.action_added(obj)


@admin.register(Outcome)
class OutcomeAdmin(admin.ModelAdmin):
    list_display = ["ts", "fan", "event", "amount", "action"]
    list_filter = ["creator", "event"]
    search_fields = ["=fan__fan_id", "platform_event_id"]
    date_hierarchy = "ts"
    raw_id_fields = ["fan", "action"]

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        """Counted in the totals; a buyer's replies-before-first-purchase follow its outcomes."""
        old = Outcome.objects.filter(pk=obj.pk).values("creator_id", "fan_id").first() if change else None
        super().save_model(request, obj, form, change)
        if old is None:
            rollup.outcomes_added(obj.creator_id)
        elif old["creator_id"] != obj.creator_id:
            rollup.outcomes_added(old["creator_id"], -1)
            rollup.outcomes_added(obj.creator_id)
        for fan_id in {obj.fan_id, old and old["fan_id"]} - {None}:
            rollup.refresh_buyer(fan_id, obj.fan.creator_id if fan_id == obj.fan_id else
                                 Outcome.fan.field.related_model.objects.get(pk=fan_id).creator_id)

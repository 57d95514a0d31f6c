from django.contrib import admin
from django.db import transaction

from learning.models import Action, Outcome
from learning.services import staff_saved_action, staff_saved_outcome
from team.scoped_admin import CreatorScopedAdmin


@admin.register(Action)
class ActionAdmin(CreatorScopedAdmin):
    list_display = ["ts", "fan", "action", "content_key", "price", "hook", "fan_state", "source", "status",
                    "purchased", "ghosted"]
    list_filter = ["creator", "action", "source", "status", "hook", "fan_state", "purchased", "ghosted"]
    search_fields = ["=fan__fan_id", "content_key", "reason", "error"]
    date_hierarchy = "ts"
    raw_id_fields = ["fan"]

    @transaction.atomic
    def save_model(self, request, obj, form, change):
        """A staff edit moves the action's counts in the stats counters (learning.services)."""
        old = Action.objects.select_for_update().filter(pk=obj.pk).first() if change else None
        super().save_model(request, obj, form, change)
        staff_saved_action(old, obj)


@admin.register(Outcome)
class OutcomeAdmin(CreatorScopedAdmin):
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
        staff_saved_outcome(old, obj)

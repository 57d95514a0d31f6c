from django.contrib import admin, messages
from rest_framework.authtoken.admin import TokenAdmin
from rest_framework.authtoken.models import TokenProxy

from models_registry.models import mask
from salesbot import team_admin  # noqa: F401  (registers the console, drafts and team performance)
from salesbot.dashboard import admin as dashboard_admin  # noqa: F401  (registers the creator dashboard)
from salesbot.models import LLMCall, PendingReversal, QueueItem, StaffToken, WebhookEvent
from salesbot.pipeline import queue
from team.scoped_admin import CreatorScopedAdmin


@admin.register(WebhookEvent)
class WebhookEventAdmin(CreatorScopedAdmin):
    list_display = ["received_at", "creator", "event", "event_id", "endpoint", "status", "attempts", "error"]
    list_filter = ["status", "event", "creator"]
    search_fields = ["event_id", "raw_body", "error"]
    readonly_fields = ["received_at", "processed_at", "attempts"]
    actions = ["replay"]

    @admin.action(description="Replay selected events (after correcting the raw body if needed)")
    def replay(self, request, queryset):
        n = 0
        for event in queryset.exclude(status=WebhookEvent.Status.PROCESSED):
            queue.replay(event)
            n += 1
        self.message_user(request, f"{n} event(s) queued for processing; processed events are never replayed.",
                          messages.SUCCESS)


@admin.register(QueueItem)
class QueueItemAdmin(CreatorScopedAdmin):
    list_display = ["enqueued_at", "creator", "fan", "reason", "status", "attempts", "result"]
    list_filter = ["status", "reason", "creator"]
    search_fields = ["=fan__fan_id", "result"]
    raw_id_fields = ["fan", "action"]


@admin.register(LLMCall)
class LLMCallAdmin(CreatorScopedAdmin):
    """Read-only: what each model call cost and whether its answer was used."""

    list_display = ["ts", "creator", "fan", "model", "outcome", "input_tokens", "output_tokens", "cost_usd",
                    "latency_ms", "trimmed"]
    list_filter = ["outcome", "model", "creator"]
    search_fields = ["=fan__fan_id", "error"]
    date_hierarchy = "ts"
    raw_id_fields = ["fan", "action"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(PendingReversal)
class PendingReversalAdmin(admin.ModelAdmin):
    """Read-only: undos that arrived before the purchase or tip they take back (applied when it arrives)."""

    list_display = ["received_at", "creator", "fan", "kind", "amount", "applied_at", "event_id"]
    list_filter = ["kind", "creator", ("applied_at", admin.EmptyFieldListFilter)]
    search_fields = ["=fan__fan_id", "event_id"]
    raw_id_fields = ["fan", "outcome"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# --- staff API tokens: never listed in clear; the key is shown once, when the token is created ------

class MaskedTokenAdmin(TokenAdmin):
    list_display = ["masked_key", "user", "created"]
    search_fields = ["user__username"]

    @admin.display(description="key")
    def masked_key(self, obj):
        return mask(obj.key)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            self.message_user(request, f"API token for {obj.user}: {obj.key} — copy it now, it is not shown again.",
                              messages.WARNING)


admin.site.unregister(TokenProxy)
admin.site.register(StaffToken, MaskedTokenAdmin)

from django.contrib import admin

from fans.models import Fan, FanTransition, Message


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    readonly_fields = ["direction", "text", "platform_message_id", "ts"]
    can_delete = False


class TransitionInline(admin.TabularInline):
    model = FanTransition
    extra = 0
    readonly_fields = ["from_state", "to_state", "reason", "by_staff", "ts"]
    can_delete = False


@admin.register(Fan)
class FanAdmin(admin.ModelAdmin):
    list_display = ["fan_id", "name", "creator", "state", "total_spent", "whale_score", "messages_received",
                    "last_interaction_ts", "opted_out", "safety_flag"]
    list_filter = ["creator", "state", "opted_out", "safety_flag"]
    search_fields = ["name", "=fan_id"]
    ordering = ["-last_interaction_ts"]
    inlines = [TransitionInline, MessageInline]


@admin.register(Message)
class MessageAdmin(admin.ModelAdmin):
    list_display = ["fan", "direction", "text", "ts"]
    list_filter = ["direction", "fan__creator"]
    search_fields = ["text", "=fan__fan_id"]


@admin.register(FanTransition)
class FanTransitionAdmin(admin.ModelAdmin):
    list_display = ["fan", "from_state", "to_state", "reason", "by_staff", "ts"]
    list_filter = ["to_state", "by_staff", "fan__creator"]
    search_fields = ["=fan__fan_id", "reason"]

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


@admin.action(description="Hand off to a human (the bot stops messaging)")
def hand_off_fans(modeladmin, request, queryset):
    from fans.services import hand_off

    for fan in queryset:
        hand_off(fan, f"handed off by {request.user} in admin", by_staff=True)
    modeladmin.message_user(request, f"{queryset.count()} fan(s) handed off.")


@admin.action(description="Resume: give handed-off fans back to the bot (back to engaged)")
def resume_fans(modeladmin, request, queryset):
    from fans.services import resume

    n = 0
    for fan in queryset.filter(state="handed_off"):
        resume(fan, f"resumed by {request.user} in admin")
        n += 1
    modeladmin.message_user(request, f"{n} fan(s) resumed; fans not handed off were left as they were.")


@admin.action(description="Mark dormant")
def mark_dormant(modeladmin, request, queryset):
    from fans.state_machine import can_transition, transition

    n = 0
    for fan in queryset:
        if fan.state != "dormant" and can_transition(fan.state, "dormant", by_staff=True):
            transition(fan, "dormant", f"marked dormant by {request.user}", by_staff=True)
            n += 1
    modeladmin.message_user(request, f"{n} fan(s) marked dormant.")


FanAdmin.actions = [hand_off_fans, resume_fans, mark_dormant]

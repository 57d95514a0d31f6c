"""Every admin of the deployment, assembled on the one site (salesbot.admin_site): the domain apps define
their ModelAdmins and register nothing; this module says which admin serves which model, once.
Ledgers are read-only for everyone (team.scoped_admin.LedgerAdmin)."""

import django_q.admin  # noqa: F401  (django-q2's task and schedule pages register themselves on the site)
from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin
from django.contrib.auth.models import Group
from rest_framework.authtoken.admin import TokenAdmin

from fans.admin import FanTransitionAdmin, MessageAdmin, NeedsHumanFanAdmin
from fans.models import Fan, FanTransition, Message, NeedsHumanFan, SafetyClearance
from learning.admin import ActionAdmin, ExperimentAdmin, OutcomeAdmin
from learning.models import Action, Outcome
from models_registry.admin import PlaybookSectionAdmin, ResponseTemplateAdmin, VaultItemAdmin
from models_registry.models import Creator, Experiment, PlaybookSection, ResponseTemplate, VaultItem, mask
from salesbot import security
from salesbot.campaigns.admin import CampaignAdmin, SegmentAdmin
from salesbot.campaigns.models import Campaign, Segment
from salesbot.dashboard.admin import CreatorDashboardAdmin
from salesbot.models import Draft, LLMBatchRequest, LLMCall, PendingReversal, QueueItem, StaffToken, WebhookEvent
from salesbot.pipeline import queue
from salesbot.team_admin import ConsoleFanAdmin, DraftAdmin
from team.admin import SnippetAdmin, TeamMemberAdmin, TeamUserAdmin
from team.models import Snippet, TeamMember
from team.scoped_admin import CreatorScopedAdmin, LedgerAdmin


class WebhookEventAdmin(LedgerAdmin):
    list_display = ["received_at", "creator", "event", "event_id", "endpoint", "status", "attempts", "error"]
    list_filter = ["status", "event", "creator"]
    search_fields = ["event_id", "raw_body", "error"]
    actions = ["replay"]

    @admin.action(description="Replay selected events (failed or stuck; processed events never run twice)")
    def replay(self, request, queryset):
        n = 0
        for event in queryset.exclude(status=WebhookEvent.Status.PROCESSED):
            queue.replay(event)
            n += 1
        self.message_user(
            request, f"{n} event(s) queued for processing; processed events are never replayed.", messages.SUCCESS
        )


class QueueItemAdmin(CreatorScopedAdmin):
    list_display = ["enqueued_at", "creator", "fan", "reason", "status", "attempts", "result"]
    list_filter = ["status", "reason", "creator"]
    search_fields = ["=fan__fan_id", "result"]
    raw_id_fields = ["fan", "action"]


class LLMCallAdmin(LedgerAdmin):
    """Read-only: what each model call cost and whether its answer was used."""

    list_display = [
        "ts",
        "creator",
        "fan",
        "model",
        "outcome",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "latency_ms",
        "trimmed",
    ]
    list_filter = ["outcome", "batched", "model", "creator"]
    search_fields = ["=fan__fan_id", "error"]
    date_hierarchy = "ts"
    raw_id_fields = ["fan", "action"]


class LLMBatchRequestAdmin(LedgerAdmin):
    """Read-only: the follow-ups the model writes in batches, and what became of each (salesbot.pipeline.batches)."""

    list_display = ["queued_at", "creator", "fan", "kind", "status", "result", "batch_id", "cost_usd", "error"]
    list_filter = ["status", "result", "kind", "creator"]
    search_fields = ["=fan__fan_id", "batch_id", "custom_id"]
    date_hierarchy = "queued_at"
    raw_id_fields = ["fan", "llm_call", "action"]


class PendingReversalAdmin(LedgerAdmin):
    """Read-only: undos that arrived before the purchase or tip they take back (applied when it arrives)."""

    list_display = ["received_at", "creator", "fan", "kind", "amount", "applied_at", "event_id"]
    list_filter = ["kind", "creator", ("applied_at", admin.EmptyFieldListFilter)]
    search_fields = ["=fan__fan_id", "event_id"]
    raw_id_fields = ["fan", "outcome"]


# --- staff API tokens: never listed in clear; the key is shown once, when the token is created ------


class StaffTokenForm(forms.ModelForm):
    name = forms.CharField(max_length=80, required=False, help_text="What the token is for.")
    expires_in_days = forms.IntegerField(
        min_value=0, required=False, help_text="Empty: API_TOKEN_DAYS (the default); 0: never expires."
    )

    class Meta:
        model = StaffToken
        fields = ["user"]


class MaskedTokenAdmin(TokenAdmin):
    """Staff API tokens: named, masked, with their creation, last use and expiry; a manager revokes any
    (delete), a superuser's only if a superuser. Everyone makes and revokes their own on "Account security"."""

    form = StaffTokenForm
    list_display = ["masked_key", "token_name", "user", "created", "last_used", "expires", "status"]
    list_select_related = ["user", "info"]
    search_fields = ["user__username", "info__name"]

    def get_fields(self, request, obj=None):
        return ["user", "name", "expires_in_days"] if obj is None else ["user"]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else ["user", "masked_key", "token_name", "created", "last_used", "expires"]

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.exclude(user__is_superuser=True)

    @admin.display(description="key")
    def masked_key(self, obj):
        return mask(obj.key)

    def _info(self, obj):
        return getattr(obj, "info", None) if obj.pk else None

    @admin.display(description="name")
    def token_name(self, obj):
        info = self._info(obj)
        return (info.name if info else "") or "—"

    @admin.display(description="last used")
    def last_used(self, obj):
        info = self._info(obj)
        return info.last_used if info and info.last_used else "never"

    @admin.display(description="expires")
    def expires(self, obj):
        info = self._info(obj)
        return info.expires_at if info and info.expires_at else "never"

    @admin.display(description="status")
    def status(self, obj):
        info = self._info(obj)
        return "expired" if info and info.expired else "active"

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        days = form.cleaned_data.get("expires_in_days")
        token = security.create_token(
            form.cleaned_data["user"], form.cleaned_data.get("name") or "", by=request.user, request=request, days=days
        )
        obj.key, obj.created = token.key, token.created  # the key is the pk
        self.message_user(
            request, f"API token for {obj.user}: {obj.key} — copy it now, it is not shown again.", messages.WARNING
        )

    def delete_model(self, request, obj):
        security.revoke_token(obj, by=request.user, request=request)

    def delete_queryset(self, request, queryset):
        for token in queryset:
            security.revoke_token(token, by=request.user, request=request)


class SafetyClearanceAdmin(LedgerAdmin):
    """Who cleared which fan's safety flag, and why (written by fans.services.clear_safety_flag only)."""

    creator_path = "fan__creator"
    list_display = ["ts", "fan", "by_user", "was", "reason"]
    list_select_related = ["fan", "by_user"]


site = admin.site
for model, model_admin in [
    (Creator, CreatorDashboardAdmin),
    (VaultItem, VaultItemAdmin),
    (PlaybookSection, PlaybookSectionAdmin),
    (ResponseTemplate, ResponseTemplateAdmin),
    (Fan, ConsoleFanAdmin),
    (NeedsHumanFan, NeedsHumanFanAdmin),
    (Message, MessageAdmin),
    (FanTransition, FanTransitionAdmin),
    (SafetyClearance, SafetyClearanceAdmin),
    (Action, ActionAdmin),
    (Outcome, OutcomeAdmin),
    (Experiment, ExperimentAdmin),
    (Draft, DraftAdmin),
    (WebhookEvent, WebhookEventAdmin),
    (QueueItem, QueueItemAdmin),
    (LLMCall, LLMCallAdmin),
    (LLMBatchRequest, LLMBatchRequestAdmin),
    (PendingReversal, PendingReversalAdmin),
    (StaffToken, MaskedTokenAdmin),
    (Segment, SegmentAdmin),
    (Campaign, CampaignAdmin),
    (TeamMember, TeamMemberAdmin),
    (Snippet, SnippetAdmin),
    (get_user_model(), TeamUserAdmin),
    (Group, GroupAdmin),
]:
    site.register(model, model_admin, own=True)

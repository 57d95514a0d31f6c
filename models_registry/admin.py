from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from simple_history.admin import SimpleHistoryAdmin

from models_registry import selectors
from models_registry.forms import (
    CreatorForm,
    CreatorOnboardingForm,
    PlaybookSectionForm,
    ResponseTemplateForm,
    VaultInlineFormSet,
    VaultItemForm,
)
from models_registry.models import Creator, VaultItem, mask
from team.scoped_admin import CreatorScopedAdmin


class VaultInline(admin.TabularInline):
    model = VaultItem
    form = VaultItemForm
    formset = VaultInlineFormSet
    extra = 0


class CreatorAdmin(SimpleHistoryAdmin, CreatorScopedAdmin):
    """History (who changed which setting, when) comes from django-simple-history: credentials are not in
    it, only that one changed (`keys_changed`); reverting is off (SIMPLE_HISTORY_REVERT_DISABLED)."""
    creator_path = "pk"
    history_list_display = ["keys_changed"]
    form = CreatorForm
    list_display = ["slug", "display_name", "account_id", "enabled", "entry_price", "ppv_min_price",
                    "ppv_max_price", "api_key_masked", "fan_count"]
    list_filter = ["enabled"]
    search_fields = ["slug", "display_name", "account_id"]
    inlines = [VaultInline]
    change_list_template = "admin/models_registry/creator/change_list.html"
    change_form_template = "admin/models_registry/creator/change_form.html"
    FIELD_GROUPS = [
        (None, ["slug", "display_name", "enabled", "autonomy", "llm_model"]),
        ("Platform account and keys (write-only)", ["provider", "account_id", "platform_user_id", "api_base_url",
                                                    "api_key", "webhook_secret"]),
        ("Prices and limits", ["ppv_min_price", "ppv_max_price", "entry_price", "daily_spend_cap",
                               "custom_approval_limit"]),
        ("What the bot must not say or do", ["restricted_words", "signal_keywords", "excluded_fan_ids",
                                             "human_quiet_minutes", "reengage_expired"]),
        ("Response targets (fans who need a person)", ["first_response_minutes", "next_response_minutes"]),
        ("Learning", ["min_sample", "stats_half_life_days", "exploration_enabled", "exploration_share",
                      "offer_policy"]),
    ]

    def get_fieldsets(self, request, obj=None):
        """The groups above, plus any editable field added to Creator later (so none goes missing)."""
        named = {f for _, fields in self.FIELD_GROUPS for f in fields}
        rest = [f for f in self.get_form(request, obj, fields=None).base_fields if f not in named]
        return [(title, {"fields": fields}) for title, fields in self.FIELD_GROUPS] + (
            [("Other", {"fields": rest})] if rest else [])

    @admin.display(description="API key")
    def api_key_masked(self, obj):
        return mask(obj.api_key)

    @admin.display(description="fans")
    def fan_count(self, obj):
        return obj.fans.count()

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        """One past version: in the user's scope only (the stock view asks no object permission)."""
        creator = Creator.history.filter(id=object_id).first()
        if creator is None or not self.in_scope(request, creator.instance_type(pk=creator.id)):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("onboard/", wrap(self.onboard_view), name="models_registry_creator_onboard"),
            *super().get_urls(),
        ]

    def _page(self, request, template, title, **context):
        return TemplateResponse(request, template, {**self.admin_site.each_context(request), "title": title,
                                                    "opts": self.model._meta, **context})

    def onboard_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CreatorOnboardingForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            if form.cleaned_data["replace"] and not self.has_change_permission(request):
                raise PermissionDenied
            try:
                creator = form.save()
            except ValidationError:
                pass  # the form now carries the messages
            else:
                sections = ", ".join(f"§{s.number}" for s in form.sections)
                self.message_user(request, (
                    f"Creator '{creator.slug}' onboarded: {creator.vault_items.count()} vault items, "
                    f"{creator.playbook_sections.count()} playbook sections ({sections}), "
                    f"{creator.templates.count()} templates. Webhook secret ends in …{creator.webhook_secret[-4:]}."),
                    messages.SUCCESS)
                return redirect("admin:models_registry_creator_change", creator.pk)
        return self._page(request, "admin/models_registry/creator/onboard.html", "Onboard a creator", form=form,
                          has_view_permission=self.has_view_permission(request))


@admin.action(description="Delete selected vault items (items templates still send are kept)",
              permissions=["delete"])
def delete_unused_vault_items(modeladmin, request, queryset):
    """The stock bulk delete, minus the items a response template still sends (each refusal is shown)."""
    needed = selectors.still_needed(queryset.select_related("creator"))
    for item, kinds in needed.items():
        modeladmin.message_user(request, selectors.refusal(item, kinds), messages.ERROR)
    remaining = queryset.exclude(pk__in=[item.pk for item in needed])
    if not remaining.exists():
        return None
    return delete_selected(modeladmin, request, remaining)


class VaultItemAdmin(CreatorScopedAdmin):
    form = VaultItemForm
    list_display = ["content_key", "creator", "kind", "default_price", "ladder_tier", "used_by"]
    list_filter = ["creator", "kind", "ladder_tier"]
    search_fields = ["content_key", "description"]

    @admin.display(description="sent by templates")
    def used_by(self, obj):
        return ", ".join(selectors.templates_using(obj.creator_id, obj.content_key)
                         .values_list("kind", flat=True)) or "—"

    def get_actions(self, request):
        """Keep the name "delete_selected" (its confirmation page posts back to it) but refuse needed items."""
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            actions["delete_selected"] = (delete_unused_vault_items, "delete_selected",
                                          delete_unused_vault_items.short_description)
        return actions

    def delete_view(self, request, object_id, extra_context=None):
        item = self.get_object(request, object_id)
        if item is not None:
            kinds = list(selectors.templates_using(item.creator_id, item.content_key).values_list("kind", flat=True))
            if kinds:
                self.message_user(request, selectors.refusal(item, kinds), messages.ERROR)
                return redirect("admin:models_registry_vaultitem_change", item.pk)
        return super().delete_view(request, object_id, extra_context)


class PlaybookSectionAdmin(CreatorScopedAdmin):
    form = PlaybookSectionForm
    list_display = ["number", "title", "creator", "serves_states"]
    list_filter = ["creator"]
    search_fields = ["title", "body"]


class ResponseTemplateAdmin(CreatorScopedAdmin):
    form = ResponseTemplateForm
    list_display = ["kind", "creator", "content_key", "hook"]
    list_filter = ["creator", "kind"]

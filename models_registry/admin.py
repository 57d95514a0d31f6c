import secrets
from pathlib import Path

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404, JsonResponse
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

STASH_KEY, MAX_STASHES = "onboard_uploads", 3
EXAMPLES = {"content-map.json": "application/json", "playbook.md": "text/markdown; charset=utf-8"}


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
    list_display = [
        "slug",
        "display_name",
        "account_id",
        "enabled",
        "entry_price",
        "ppv_min_price",
        "ppv_max_price",
        "api_key_masked",
        "fan_count",
    ]
    list_filter = ["enabled"]
    search_fields = ["slug", "display_name", "account_id"]
    inlines = [VaultInline]
    change_list_template = "admin/models_registry/creator/change_list.html"
    change_form_template = "admin/models_registry/creator/change_form.html"
    FIELD_GROUPS = [
        (None, ["slug", "display_name", "enabled", "autonomy", "llm_model", "llm_batch_followups"]),
        (
            "Platform account and keys (write-only)",
            ["provider", "account_id", "platform_user_id", "api_base_url", "api_key", "webhook_secret"],
        ),
        (
            "Prices and limits",
            ["ppv_min_price", "ppv_max_price", "entry_price", "daily_spend_cap", "custom_approval_limit"],
        ),
        (
            "What the bot must not say or do",
            [
                "restricted_words",
                "signal_keywords",
                "excluded_fan_ids",
                "human_quiet_minutes",
                "reengage_expired",
                "campaign_quiet_hours",
            ],
        ),
        ("Pace", ["reply_delay_min_s", "reply_delay_max_s"]),
        ("Response targets (fans who need a person)", ["first_response_minutes", "next_response_minutes"]),
        (
            "Learning",
            ["min_sample", "stats_half_life_days", "exploration_enabled", "exploration_share", "offer_policy"],
        ),
    ]

    def get_fieldsets(self, request, obj=None):
        """The groups above, plus any editable field added to Creator later (so none goes missing)."""
        named = {f for _, fields in self.FIELD_GROUPS for f in fields}
        rest = [f for f in self.get_form(request, obj, fields=None).base_fields if f not in named]
        return [(title, {"fields": fields}) for title, fields in self.FIELD_GROUPS] + (
            [("Other", {"fields": rest})] if rest else []
        )

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
            path("onboard/check/", wrap(self.check_connection_view), name="models_registry_creator_check"),
            path("onboard/example/<str:name>", wrap(self.example_view), name="models_registry_creator_example"),
            path("<path:object_id>/onboarded/", wrap(self.onboarded_view), name="models_registry_creator_onboarded"),
            *super().get_urls(),
        ]

    def _page(self, request, template, title, **context):
        return TemplateResponse(
            request,
            template,
            {**self.admin_site.each_context(request), "title": title, "opts": self.model._meta, **context},
        )

    # -- onboarding ------------------------------------------------------------------------------------
    def connection_check(self, provider, account_id, api_key, api_base_url):
        """Ask the provider whether the key works: the registered admin (salesbot) knows the providers'
        clients; a domain app does not, so here nothing is checked (None)."""
        return None

    def _check_values(self, values):
        data = values.get("content_map") if isinstance(values.get("content_map"), dict) else {}
        from_map = data.get("creator") if isinstance(data.get("creator"), dict) else {}
        slug = values.get("slug") or ""
        return {
            "provider": values.get("provider") or from_map.get("provider") or "onlyfansapi",
            "account_id": values.get("account_id") or from_map.get("account_id") or (f"acct_{slug}" if slug else ""),
            "api_key": values.get("api_key") or "",
            "api_base_url": values.get("api_base_url") or from_map.get("api_base_url") or "",
        }

    def _stash(self, request):
        """The uploads of this form kept across submits: in the session, under the form's token (at most
        MAX_STASHES forms at once per session, the oldest dropped)."""
        token = request.POST.get("upload_token") or ""
        stashes = request.session.get(STASH_KEY) or {}
        if token not in stashes:
            token = secrets.token_urlsafe(12)
            while len(stashes) >= MAX_STASHES:
                stashes.pop(next(iter(stashes)))
            stashes[token] = {}
        request.session[STASH_KEY] = stashes
        return token, stashes[token]

    def onboard_view(self, request):
        if not self.has_add_permission(request):
            raise PermissionDenied
        check = None
        if request.method == "POST":
            token, stash = self._stash(request)
            data = request.POST.copy()
            data["upload_token"] = token
            form = CreatorOnboardingForm(data, request.FILES, stash=stash)
            valid = form.is_valid()
            request.session.modified = True  # the stash took the uploads
            if "_check" in request.POST:  # the button without JavaScript: the check only, nothing saved
                check = self.connection_check(**self._check_values(form.data))
            elif valid:
                if form.cleaned_data["replace"] and not self.has_change_permission(request):
                    raise PermissionDenied
                values = self._check_values(form.cleaned_data)
                check = self.connection_check(**values) if values["api_key"] else None
                if check is not None and check.refused:
                    form.add_error("api_key", check.message)
                else:
                    try:
                        creator = form.save()
                    except ValidationError:
                        pass  # the form now carries the messages
                    else:
                        return self._onboarded(request, form, creator, token, check)
        else:
            form = CreatorOnboardingForm(stash={})
        return self._page(
            request,
            "admin/models_registry/creator/onboard.html",
            "Onboard a creator",
            form=form,
            check=check,
            has_view_permission=self.has_view_permission(request),
            examples=EXAMPLES,
        )

    def _onboarded(self, request, form, creator, token, check):
        stashes = request.session.get(STASH_KEY) or {}
        stashes.pop(token, None)
        request.session[STASH_KEY] = stashes
        sections = ", ".join(f"§{s.number}" for s in form.sections)
        self.message_user(
            request,
            (
                f"Creator '{creator.slug}' onboarded: {creator.vault_items.count()} vault items, "
                f"{creator.playbook_sections.count()} playbook sections ({sections}), "
                f"{creator.templates.count()} templates. Webhook secret ends in …{creator.webhook_secret[-4:]}."
            ),
            messages.SUCCESS,
        )
        if check is not None:
            self.message_user(
                request,
                check.message if check.ok else (f"The key could not be checked: {check.message}"),
                messages.SUCCESS if check.ok else messages.WARNING,
            )
        return redirect("admin:models_registry_creator_onboarded", creator.pk)

    def check_connection_view(self, request):
        """The form's "Test connection" button (onboard.js): the provider's answer, as JSON."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        if request.method != "POST":
            return JsonResponse({"ok": False, "message": "POST the form's fields."}, status=405)
        values = self._check_values(request.POST)
        check = self.connection_check(**values)
        if check is None:
            return JsonResponse({"ok": False, "reached": False, "message": "The connection cannot be tested here."})
        return JsonResponse(check.as_json())

    def example_view(self, request, name):
        """The demo creator's files as examples to download from the form (demo/ in the project)."""
        if not self.has_view_permission(request) or name not in EXAMPLES:
            raise Http404
        path = Path(settings.BASE_DIR) / "demo" / name
        if not path.is_file():
            raise Http404("The example files ship with the project's source (demo/), not with this install.")
        return FileResponse(
            path.open("rb"), as_attachment=True, filename=f"example-{name}", content_type=EXAMPLES[name]
        )

    def onboarded_view(self, request, object_id):
        """After onboarding: what was made, the mode (approve), and the next steps (webhook, vault)."""
        creator = self.get_object(request, object_id)
        if creator is None or not self.has_view_permission(request, creator):
            raise PermissionDenied
        return self._page(
            request,
            "admin/models_registry/creator/onboarded.html",
            f"{creator} onboarded",
            creator=creator,
            has_view_permission=True,
            can_change=self.has_change_permission(request, creator),
            action_checkbox_name=admin.helpers.ACTION_CHECKBOX_NAME,
            counts={
                "vault": creator.vault_items.count(),
                "sections": creator.playbook_sections.count(),
                "templates": creator.templates.count(),
            },
        )


@admin.action(description="Delete selected vault items (items templates still send are kept)", permissions=["delete"])
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
        return (
            ", ".join(selectors.templates_using(obj.creator_id, obj.content_key).values_list("kind", flat=True)) or "—"
        )

    def get_actions(self, request):
        """Keep the name "delete_selected" (its confirmation page posts back to it) but refuse needed items."""
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            actions["delete_selected"] = (
                delete_unused_vault_items,
                "delete_selected",
                delete_unused_vault_items.short_description,
            )
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

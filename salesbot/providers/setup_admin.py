"""The creator admin's provider buttons: register the deployment's webhook, sync the vault, and map vault
media no content key uses yet — the same functions the `register_webhook` and `sync_vault` commands call
(salesbot.providers.onlyfansapi.setup), the provider's answer shown as admin messages."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from models_registry.models import Creator
from salesbot.providers.onlyfansapi import setup

MAX_LISTED = 20  # unmapped media named in a message; the vault page lists them all


class WebhookURLForm(forms.Form):
    url = forms.URLField(
        label="This deployment's public base URL",
        assume_scheme="https",
        help_text=f"The provider will post to this URL + {setup.WEBHOOK_PATH}.",
    )


class MapMediaForm(forms.Form):
    media = forms.TypedMultipleChoiceField(
        coerce=int, widget=forms.CheckboxSelectMultiple, label="Unmapped vault media"
    )
    content_key = forms.ChoiceField(label="Map the selected media to content key")

    def __init__(self, creator, unmapped, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["media"].choices = [(int(m["id"]), str(m["id"])) for m in unmapped]
        self.fields["content_key"].choices = [("", "—")] + [
            (v.content_key, f"{v.content_key} ({v.get_kind_display()}, {len(v.media_ids)} media)")
            for v in creator.vault_items.all()
        ]


class ProviderSetupAdminMixin:
    """Mixed into the registered creator admin (salesbot.dashboard.admin)."""

    actions = ["register_provider_webhook", "sync_provider_vault"]

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<path:object_id>/vault-media/", wrap(self.vault_media_view), name="models_registry_creator_vault_media"
            ),
            *super().get_urls(),
        ]

    # -- register the webhook ---------------------------------------------------------------------------
    @admin.action(description="Register the webhook with the provider (safe to repeat)", permissions=["change"])
    def register_provider_webhook(self, request, queryset):
        form = WebhookURLForm(
            request.POST if "apply" in request.POST else None,
            initial={"url": request.build_absolute_uri("/").rstrip("/")},
        )
        if form.is_bound and form.is_valid():
            for creator in queryset:
                try:
                    done = setup.register_webhook(creator, form.cleaned_data["url"])
                except setup.SetupError as e:
                    self.message_user(request, f"{creator.slug}: {e}", messages.ERROR)
                    continue
                self.message_user(
                    request,
                    f"{creator.slug}: {done.summary(creator)}. The provider's answer: {done.answer}",
                    messages.SUCCESS,
                )
            return None
        return TemplateResponse(
            request,
            "admin/models_registry/creator/register_webhook.html",
            {
                **self.admin_site.each_context(request),
                "title": "Register the webhook with the provider",
                "opts": self.model._meta,
                "form": form,
                "creators": queryset,
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            },
        )

    # -- sync the vault ---------------------------------------------------------------------------------
    @admin.action(description="Sync the vault from the provider (list unmapped media)", permissions=["view"])
    def sync_provider_vault(self, request, queryset):
        for creator in queryset:
            try:
                synced = setup.sync_vault(creator)
            except setup.SetupError as e:
                self.message_user(request, f"{creator.slug}: {e}", messages.ERROR)
                continue
            self.message_user(
                request, self.sync_message(creator, synced), messages.WARNING if synced.unmapped else messages.SUCCESS
            )

    def sync_message(self, creator, synced):
        if not synced.unmapped:
            return f"{creator.slug}: {synced.summary()}."
        ids = ", ".join(f"{m['id']} ({m.get('type', '?')})" for m in synced.unmapped[:MAX_LISTED])
        more = f" and {len(synced.unmapped) - MAX_LISTED} more" if len(synced.unmapped) > MAX_LISTED else ""
        url = reverse("admin:models_registry_creator_vault_media", args=[creator.pk])
        return format_html(
            '{}: {}: {}{}. <a href="{}">Map them to content keys</a>', creator.slug, synced.summary(), ids, more, url
        )

    # -- map unmapped media -----------------------------------------------------------------------------
    def vault_media_view(self, request, object_id):
        creator = get_object_or_404(Creator, pk=object_id)
        if not self.has_view_permission(request, creator):
            raise PermissionDenied
        if request.method == "POST" and not self.has_change_permission(request, creator):
            raise PermissionDenied
        try:
            synced = setup.sync_vault(creator, fresh=False)  # the provider's list (kept): only its media can be mapped
        except setup.SetupError as e:
            self.message_user(request, f"{creator.slug}: {e}", messages.ERROR)
            return redirect("admin:models_registry_creator_change", creator.pk)
        form = MapMediaForm(creator, synced.unmapped, request.POST if request.method == "POST" else None)
        if form.is_bound and form.is_valid():
            key, ids = form.cleaned_data["content_key"], form.cleaned_data["media"]
            try:
                now = setup.map_media(creator, key, ids)
            except setup.SetupError as e:
                self.message_user(request, str(e), messages.ERROR)
            else:
                self.message_user(
                    request, f"Mapped {', '.join(map(str, ids))} to {key}: it now sends media {now}.", messages.SUCCESS
                )
                return redirect("admin:models_registry_creator_vault_media", creator.pk)
        rows = [(m, form["media"][i]) for i, m in enumerate(synced.unmapped)]
        return TemplateResponse(
            request,
            "admin/models_registry/creator/vault_media.html",
            {
                **self.admin_site.each_context(request),
                "title": f"Vault media of {creator}",
                "opts": self.model._meta,
                "creator": creator,
                "synced": synced,
                "form": form,
                "rows": rows,
                "can_change": self.has_change_permission(request, creator),
                "has_view_permission": True,
            },
        )

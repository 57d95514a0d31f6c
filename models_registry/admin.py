from django import forms
from django.contrib import admin

from models_registry.models import Creator, PlaybookSection, ResponseTemplate, VaultItem, mask


class CreatorForm(forms.ModelForm):
    """Credentials are write-only: an empty field keeps the stored value."""

    api_key = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                              help_text="Write-only. Leave empty to keep the current key.")
    webhook_secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=False),
                                     help_text="Write-only. Leave empty to keep the current secret.")

    class Meta:
        model = Creator
        fields = "__all__"

    def clean(self):
        data = super().clean()
        for field in ("api_key", "webhook_secret"):
            if not data.get(field) and self.instance.pk:
                data[field] = getattr(self.instance, field)
        if not data.get("webhook_secret"):
            data["webhook_secret"] = Creator._meta.get_field("webhook_secret").get_default()
        return data


class VaultInline(admin.TabularInline):
    model = VaultItem
    extra = 0


@admin.register(Creator)
class CreatorAdmin(admin.ModelAdmin):
    form = CreatorForm
    list_display = ["slug", "display_name", "account_id", "enabled", "entry_price", "ppv_min_price",
                    "ppv_max_price", "api_key_masked", "fan_count"]
    list_filter = ["enabled"]
    search_fields = ["slug", "display_name", "account_id"]
    inlines = [VaultInline]

    @admin.display(description="API key")
    def api_key_masked(self, obj):
        return mask(obj.api_key)

    @admin.display(description="fans")
    def fan_count(self, obj):
        return obj.fans.count()


@admin.register(VaultItem)
class VaultItemAdmin(admin.ModelAdmin):
    list_display = ["content_key", "creator", "kind", "default_price", "ladder_tier"]
    list_filter = ["creator", "kind", "ladder_tier"]
    search_fields = ["content_key", "description"]


@admin.register(PlaybookSection)
class PlaybookSectionAdmin(admin.ModelAdmin):
    list_display = ["number", "title", "creator", "serves_states"]
    list_filter = ["creator"]
    search_fields = ["title", "body"]


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(admin.ModelAdmin):
    list_display = ["kind", "creator", "content_key", "hook"]
    list_filter = ["creator", "kind"]

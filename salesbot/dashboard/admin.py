"""The learning dashboard in admin: the creator admin of models_registry, plus a dashboard page per creator.

Registered from salesbot (not models_registry) because the dashboard reads the pipeline's and the learning
stats' data; the domain app's admin knows nothing of them.
"""
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils.html import format_html

from learning.admin import may_manage_experiments
from models_registry.admin import CreatorAdmin
from models_registry.models import Creator
from salesbot.dashboard.learning import creator_dashboard
from salesbot.pipeline.autonomy import hand_back_drafts
from salesbot.providers.setup_admin import ProviderSetupAdminMixin


class CreatorDashboardAdmin(ProviderSetupAdminMixin, CreatorAdmin):
    """Also the provider's buttons (register the webhook, sync and map the vault: ProviderSetupAdminMixin)."""

    list_display = [*CreatorAdmin.list_display, "dashboard_link"]

    @admin.display(description="dashboard")
    def dashboard_link(self, obj):
        return format_html('<a href="{}">dashboard</a>', reverse("admin:models_registry_creator_dashboard",
                                                                args=[obj.pk]))

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [path("<path:object_id>/dashboard/", wrap(self.dashboard_view),
                     name="models_registry_creator_dashboard"), *super().get_urls()]

    def save_model(self, request, obj, form, change):
        """Leaving approve mode hands the creator's open drafts back to the bot (salesbot.pipeline.autonomy)."""
        super().save_model(request, obj, form, change)
        if change and "autonomy" in form.changed_data:
            hand_back_drafts(obj)

    def dashboard_view(self, request, object_id):
        creator = get_object_or_404(Creator, pk=object_id)
        if not self.has_view_permission(request, creator):
            raise PermissionDenied
        return self._page(request, "admin/models_registry/creator/dashboard.html",
                          f"Learning dashboard: {creator}", creator=creator, d=creator_dashboard(creator),
                          has_view_permission=True,
                          may_manage_experiments=may_manage_experiments(request.user, creator))



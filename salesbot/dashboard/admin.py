"""The learning dashboard in admin: the creator admin of models_registry, plus a dashboard page per creator.

Registered from salesbot (not models_registry) because the dashboard reads the pipeline's and the learning
stats' data; the domain app's admin knows nothing of them.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, DecimalField, IntegerField, OuterRef, Subquery, Sum
from django.shortcuts import get_object_or_404, redirect
from django.urls import path, reverse
from django.utils.html import format_html

from fans.models import Fan
from fans.selectors import needs_a_human
from learning.admin import may_manage_experiments
from learning.models import Outcome
from models_registry.admin import CreatorAdmin
from models_registry.models import Creator
from salesbot import periods
from salesbot.dashboard.learning import creator_dashboard
from salesbot.models import Draft
from salesbot.pipeline.autonomy import hand_back_drafts, set_creator_mode
from salesbot.providers.check import check_connection
from salesbot.providers.setup_admin import ProviderSetupAdminMixin
from team.models import Autonomy


class CreatorDashboardAdmin(ProviderSetupAdminMixin, CreatorAdmin):
    """Also the provider's buttons (register the webhook, sync and map the vault: ProviderSetupAdminMixin)."""

    list_display = [
        "slug",
        "display_name",
        "enabled",
        "autonomy",
        "revenue_today",
        "fans_waiting",
        "drafts_open",
        "fan_count",
        "account_id",
        "api_key_masked",
        "dashboard_link",
    ]

    def get_queryset(self, request):
        """Today's live revenue (imported history apart), fans who need a person and open drafts: one query."""
        today = periods.parse({"period": "today"})
        money = (
            Outcome.objects.filter(today.q(), creator=OuterRef("pk"), event__in=periods.MONEY, import_key__isnull=True)
            .values("creator")
            .annotate(s=Sum("amount"))
            .values("s")[:1]
        )
        waiting = (
            Fan.objects.filter(needs_a_human(), creator=OuterRef("pk"))
            .values("creator")
            .annotate(n=Count("id"))
            .values("n")[:1]
        )
        drafts = (
            Draft.objects.filter(creator=OuterRef("pk"), status=Draft.Status.OPEN)
            .values("creator")
            .annotate(n=Count("id"))
            .values("n")[:1]
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                _revenue_today=Subquery(money, output_field=DecimalField()),
                _waiting=Subquery(waiting, output_field=IntegerField()),
                _drafts=Subquery(drafts, output_field=IntegerField()),
                _fans=Subquery(
                    Fan.objects.filter(creator=OuterRef("pk"))
                    .values("creator")
                    .annotate(n=Count("id"))
                    .values("n")[:1],
                    output_field=IntegerField(),
                ),
            )
        )

    @admin.display(description="revenue today", ordering="_revenue_today")
    def revenue_today(self, obj):
        return f"${obj._revenue_today or 0:,.2f}"

    @admin.display(description="fans who need a person", ordering="_waiting")
    def fans_waiting(self, obj):
        n = obj._waiting or 0
        return format_html('<a href="{}?show=human&creator={}">{}</a>', reverse("admin:inbox"), obj.pk, n) if n else 0

    @admin.display(description="drafts", ordering="_drafts")
    def drafts_open(self, obj):
        return obj._drafts or 0

    @admin.display(description="fans", ordering="_fans")
    def fan_count(self, obj):
        return obj._fans or 0

    @admin.display(description="dashboard")
    def dashboard_link(self, obj):
        return format_html(
            '<a href="{}">dashboard</a>', reverse("admin:models_registry_creator_dashboard", args=[obj.pk])
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/dashboard/", wrap(self.dashboard_view), name="models_registry_creator_dashboard"),
            path("<path:object_id>/autopilot/", wrap(self.autopilot_view), name="models_registry_creator_autopilot"),
            *super().get_urls(),
        ]

    def connection_check(self, provider, account_id, api_key, api_base_url):
        """The onboarding form's check: one authenticated call to the provider (salesbot.providers.check)."""
        return check_connection(provider, account_id, api_key, api_base_url)

    def autopilot_view(self, request, object_id):
        """One click from approve to autopilot (the creator page, the onboarded page): open drafts go back to
        the bot (salesbot.pipeline.autonomy.set_creator_mode)."""
        creator = get_object_or_404(Creator, pk=object_id)
        if request.method != "POST" or not self.has_change_permission(request, creator):
            raise PermissionDenied
        returned = set_creator_mode(creator, Autonomy.AUTOPILOT, user=request.user)
        self.message_user(
            request,
            f"{creator} is on autopilot: the bot sends on its own"
            + (f"; {returned} open draft(s) went back to the bot." if returned else "."),
            messages.SUCCESS,
        )
        return redirect("admin:models_registry_creator_change", creator.pk)

    def save_model(self, request, obj, form, change):
        """Leaving approve mode hands the creator's open drafts back to the bot (salesbot.pipeline.autonomy)."""
        super().save_model(request, obj, form, change)
        if change and "autonomy" in form.changed_data:
            hand_back_drafts(obj)

    def dashboard_view(self, request, object_id):
        creator = get_object_or_404(Creator, pk=object_id)
        if not self.has_view_permission(request, creator):
            raise PermissionDenied
        return self._page(
            request,
            "admin/models_registry/creator/dashboard.html",
            f"Learning dashboard: {creator}",
            creator=creator,
            d=creator_dashboard(creator),
            has_view_permission=True,
            may_manage_experiments=may_manage_experiments(request.user, creator),
        )

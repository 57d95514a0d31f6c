"""The one admin site staff work in: its home page is each person's day (salesbot.inbox.home_view), the inbox
and the team's reports hang at their own URLs, and every ModelAdmin is registered on it in one module
(salesbot.admin). Django's admin app runs without autodiscovery (AdminConfig below), so nothing registers
itself somewhere else and nothing is registered twice."""

from django.contrib import admin
from django.contrib.admin.apps import SimpleAdminConfig
from django.urls import path, reverse_lazy


class AdminConfig(SimpleAdminConfig):
    default_site = "salesbot.admin_site.SalesbotAdminSite"

    def ready(self):
        super().ready()
        from salesbot import admin as assembly  # noqa: F401  (registers every ModelAdmin on the site)


class SalesbotAdminSite(admin.AdminSite):
    site_header = "salesbot"
    site_title = "salesbot"
    index_title = "Home"
    site_url = reverse_lazy("admin:inbox")  # "View site" leads to the inbox
    index_template = "admin/home.html"
    # Password, then the two-factor code of a person who set it up (salesbot.two_factor), on the one login page.
    login_template = "admin/salesbot_login.html"
    # Django's auth admin and DRF's token admin register themselves when their modules are imported; salesbot
    # gives these models admins of its own (salesbot.admin), so their self-registration is declined here
    # rather than undone later.
    OWN_ADMINS = {"auth.user", "auth.group", "authtoken.tokenproxy"}

    def register(self, model_or_iterable, admin_class=None, *, own=False, **options):
        models = model_or_iterable if isinstance(model_or_iterable, list | tuple) else [model_or_iterable]
        if not own and all(m._meta.label_lower in self.OWN_ADMINS for m in models):
            return
        super().register(model_or_iterable, admin_class, **options)

    @property
    def login_form(self):
        from salesbot.two_factor import OTPAdminLoginForm

        return OTPAdminLoginForm

    def index(self, request, extra_context=None):
        from salesbot.inbox import home_view

        return super().index(request, {**home_view.context(request), **(extra_context or {})})

    def get_urls(self):
        from salesbot import two_factor
        from salesbot.inbox import conversation_ops, inbox_view, reports_view
        from salesbot.models import Draft

        wrap = self.admin_view
        drafts = self._registry[Draft]
        return [
            path("inbox/", wrap(inbox_view.page), name="inbox"),
            path("inbox/live/", wrap(inbox_view.live_feed), name="inbox_live"),
            path("inbox/duty/", wrap(inbox_view.duty), name="inbox_duty"),
            path("inbox/<int:fan_pk>/", wrap(inbox_view.page), name="inbox_fan"),
            path("inbox/<int:fan_pk>/<str:op>/", wrap(conversation_ops.post), name="inbox_op"),
            path("reports/performance/", wrap(drafts.performance_view), name="salesbot_team_performance"),
            path("reports/audit/", wrap(drafts.audit_view), name="salesbot_team_audit"),
            path("reports/shifts/", wrap(reports_view.shifts), name="shift_report"),
            path("account/security/", wrap(two_factor.account_security), name="account_security"),
            path("security/lockouts/", wrap(two_factor.lockouts_page), name="lockouts"),
            *super().get_urls(),
        ]

"""Humans in the loop in admin: the console on a fan's timeline, the drafts to approve (most urgent first,
beside the fan's last messages) and the team's performance page. Registered from salesbot because they
send through the pipeline; the domain apps' admins know nothing of it."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from fans.admin import FanAdmin
from models_registry.models import Creator
from salesbot import audit, periods, team_performance
from salesbot.inbox.forms import DraftEditForm
from salesbot.inbox.reports_view import period_context
from salesbot.models import Draft
from salesbot.pipeline import autonomy, console, drafts
from team import scope
from team.scoped_admin import CreatorScopedAdmin


class ConsoleFanAdmin(FanAdmin):
    """The fan admin, plus what a change of the fan's own mode sets off in the pipeline."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "autonomy" in form.changed_data:
            autonomy.hand_back_drafts(obj.creator, obj)


class DraftStatusFilter(admin.SimpleListFilter):
    """Open drafts unless asked otherwise: the list is a to-do list."""

    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("all", "all"), *[(s.value, s.label) for s in Draft.Status if s != Draft.Status.OPEN]]

    def choices(self, changelist):
        yield {
            "selected": self.value() is None,
            "query_string": changelist.get_query_string(remove=["status"]),
            "display": "open (waiting for a person)",
        }
        for value, label in self.lookup_choices:
            yield {
                "selected": self.value() == value,
                "display": label,
                "query_string": changelist.get_query_string({"status": value}),
            }

    def queryset(self, request, queryset):
        value = self.value()
        return queryset if value == "all" else queryset.filter(status=value or Draft.Status.OPEN)


class DraftAdmin(CreatorScopedAdmin):
    list_display = [
        "review_link",
        "fan",
        "creator",
        "action",
        "text",
        "content_key",
        "price",
        "waiting",
        "status",
        "decided_by",
    ]
    list_filter = [DraftStatusFilter, "creator", "action", "source"]
    search_fields = ["=fan__fan_id", "text"]
    list_select_related = ["fan", "creator", "decided_by"]
    actions = ["approve_selected"]

    @admin.action(
        description="Approve the selected drafts as drafted (each sent once, through the last gate)",
        permissions=["change"],
    )
    def approve_selected(self, request, queryset):
        report = drafts.approve_many(list(queryset.select_related("fan", "creator")), request.user)
        self.message_user(request, report.summary(), messages.SUCCESS if not report.refused else messages.WARNING)

    ordering = drafts.URGENT_FIRST  # the worker's priority: spend, whale score, then the longest wait

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {"title": "Drafts to approve: most urgent first", **(extra_context or {})}
        )

    def has_add_permission(self, request):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        """A draft is decided on its review page, never edited as a row."""
        draft = self.get_object(request, object_id)
        if draft is None or not self.has_view_permission(request, draft):
            raise PermissionDenied
        return redirect(reverse("admin:salesbot_draft_review", args=[draft.pk]))

    @admin.display(description="draft")
    def review_link(self, obj):
        return format_html('<a href="{}">review</a>', reverse("admin:salesbot_draft_review", args=[obj.pk]))

    @admin.display(description="waiting")
    def waiting(self, obj):
        return f"{int((timezone.now() - obj.waiting_since).total_seconds() // 60)} min"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<path:object_id>/review/", wrap(self.review_view), name="salesbot_draft_review"),
            *super().get_urls(),
        ]

    def review_view(self, request, object_id):
        draft = get_object_or_404(Draft.objects.select_related("fan", "creator"), pk=object_id)
        if not self.has_view_permission(request, draft):
            raise PermissionDenied
        if request.method == "POST":
            if not self.has_change_permission(request, draft):
                raise PermissionDenied
            return self._decide(request, draft)
        return TemplateResponse(
            request,
            "admin/salesbot/draft/review.html",
            {
                **self.admin_site.each_context(request),
                "opts": Draft._meta,
                "title": f"Draft for {draft.fan}",
                "draft": draft,
                "last_messages": drafts.last_messages(draft.fan, 8),
                "content": [draft.content_key] * bool(draft.content_key)
                + [v.content_key for v in console.unsent_content(draft.fan) if v.content_key != draft.content_key],
                "timeline_url": reverse("admin:inbox_fan", args=[draft.fan_id]),
                "alike": drafts.alike(draft, scope.creator_ids(request.user)).count() if draft.status == "open" else 0,
                "can_decide": self.has_change_permission(request, draft) and draft.status == Draft.Status.OPEN,
            },
        )

    def _decide(self, request, draft):
        op = request.POST.get("op")
        if op == "approve_alike":
            batch = [draft, *drafts.alike(draft, scope.creator_ids(request.user))]
            report = drafts.approve_many(batch, request.user)
            self.message_user(request, report.summary(), messages.SUCCESS if not report.refused else messages.WARNING)
            return redirect(reverse("admin:salesbot_draft_changelist"))
        try:
            if op == "reject":
                drafts.reject(draft, request.user, request.POST.get("reason", ""))
                self.message_user(request, "Rejected.", messages.SUCCESS)
            else:
                edits = None
                if op == "edit":
                    form = DraftEditForm(request.POST)
                    if not form.is_valid():
                        field, errors = next(iter(form.errors.items()))
                        raise drafts.DraftError(f"{field.replace('_', ' ')}: {errors[0]}")
                    edits = form.cleaned_data
                action = drafts.approve(draft, request.user, edits)
                self.message_user(
                    request,
                    f"{draft.get_status_display()}: {action.action} {action.status}"
                    + (f" ({action.error})" if action.error else ""),
                    messages.SUCCESS,
                )
        except drafts.DraftError as e:
            self.message_user(request, f"Not sent: {e}", messages.ERROR)
            return redirect(reverse("admin:salesbot_draft_review", args=[draft.pk]))
        nxt = drafts.open_drafts(scope.creator_ids(request.user)).first()
        return redirect(
            reverse("admin:salesbot_draft_review", args=[nxt.pk]) if nxt else reverse("admin:salesbot_draft_changelist")
        )

    def performance_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        creators = scope.limit(Creator.objects.all(), request.user, "pk")
        chosen = request.GET.get("creator")
        if chosen:
            creator = get_object_or_404(Creator, pk=chosen)
            if not scope.sees(request.user, creator.pk):
                raise PermissionDenied
            creators = creators.filter(pk=creator.pk)
        period = periods.parse(request.GET, default="today")
        history = request.GET.get("history") == "1"
        report = team_performance.by_sender(list(creators.values_list("pk", flat=True)), period, history=history)
        return TemplateResponse(
            request,
            "admin/salesbot/draft/performance.html",
            {
                **self.admin_site.each_context(request),
                "opts": Draft._meta,
                "title": f"Team performance, {period.label}" + (f": {creators.first()}" if chosen else ""),
                "report": report,
                "creators": scope.limit(Creator.objects.all(), request.user, "pk"),
                "chosen": chosen,
                "history": history,
                **period_context(request, period, creator=chosen or ""),
            },
        )

    def audit_view(self, request):
        """Who changed settings, decided drafts, sent from the console, handed off or resumed a fan: when."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        creators = scope.limit(Creator.objects.all(), request.user, "pk")
        chosen = request.GET.get("creator") or ""
        creator = None
        if chosen:
            creator = get_object_or_404(Creator, pk=chosen)
            if not scope.sees(request.user, creator.pk):
                raise PermissionDenied
        return TemplateResponse(
            request,
            "admin/salesbot/draft/audit.html",
            {
                **self.admin_site.each_context(request),
                "opts": Draft._meta,
                "title": "Audit" + (f": {creator}" if creator else ""),
                "creators": creators,
                "chosen": chosen,
                "is_manager": scope.is_manager(request.user),
                "entries": audit.entries(request.user, creator.pk if creator else None),
            },
        )

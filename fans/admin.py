from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.timezone import localtime

from fans import facts, staff
from fans.models import Fan, FanFact, FanTransition
from fans.selectors import handoff_kind, handoff_label, needs_a_human
from fans.state_machine import FanState
from learning.selectors import spend_capped, spent_last_24h
from team.scoped_admin import CreatorScopedAdmin, LedgerAdmin


class TransitionInline(admin.TabularInline):
    model = FanTransition
    extra = 0
    readonly_fields = ["from_state", "to_state", "reason", "by_staff", "by_user", "ts"]
    can_delete = False


class SpendFilter(admin.SimpleListFilter):
    title = "total spent"
    parameter_name = "spend"
    BANDS = {"0": (0, 0), "1-49": (0.01, 49.99), "50-199": (50, 199.99), "200+": (200, None)}

    def lookups(self, request, model_admin):
        return [("0", "nothing yet"), ("1-49", "under $50"), ("50-199", "$50–199"), ("200+", "$200 and more")]

    def queryset(self, request, queryset):
        band = self.BANDS.get(self.value())
        if band is None:
            return queryset
        low, high = band
        queryset = queryset.filter(total_spent__gte=low)
        return queryset if high is None else queryset.filter(total_spent__lte=high)


class WhaleFilter(admin.SimpleListFilter):
    title = "whale score"
    parameter_name = "whale"

    def lookups(self, request, model_admin):
        return [("3+", "3 or more (whale candidate)"), ("1-2", "1–2"), ("0", "0")]

    def queryset(self, request, queryset):
        return {
            "3+": lambda q: q.filter(whale_score__gte=3),
            "1-2": lambda q: q.filter(whale_score__in=[1, 2]),
            "0": lambda q: q.filter(whale_score=0),
        }.get(self.value(), lambda q: q)(queryset)


class NoteForm(forms.Form):
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "cols": 60}), max_length=1000)


class FactForm(forms.ModelForm):
    """One remembered fact; emptied, it is forgotten."""

    class Meta:
        model = FanFact
        fields = ["text"]
        widgets = {"text": forms.TextInput(attrs={"size": 70})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["text"].required = False


FactFormSet = forms.modelformset_factory(FanFact, form=FactForm, extra=2, can_delete=True)


def fact_changes(formset) -> dict:
    """What staff changed in the facts form, as fans.facts.edit() takes it."""
    changed, deleted, added = {}, set(), []
    for form in formset.forms:
        text, fact = form.cleaned_data.get("text", ""), form.instance
        if fact.pk is None:
            if text.strip():
                added.append(text)
        elif form.cleaned_data.get("DELETE") or not text.strip():
            deleted.add(fact.pk)
        elif form.has_changed():
            changed[fact.pk] = text
    return {"changed": changed, "deleted": deleted, "added": added}


class HandoffForm(forms.Form):
    reason = forms.CharField(
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"size": 40, "placeholder": "why a human takes over"}),
    )


@admin.action(description="Hand off to a human (the bot stops messaging)", permissions=["change"])
def hand_off_fans(modeladmin, request, queryset):
    for fan in queryset:
        staff.staff_hand_off(fan, str(request.user), user=request.user)
    modeladmin.message_user(request, f"{queryset.count()} fan(s) handed off.")


@admin.action(description="Resume: give handed-off fans back to the bot (back to engaged)", permissions=["change"])
def resume_fans(modeladmin, request, queryset):
    n = sum(staff.staff_resume(fan, str(request.user), user=request.user) for fan in queryset)
    modeladmin.message_user(
        request,
        f"{n} fan(s) resumed; fans not handed off, or with a safety flag (a manager "
        f"clears it in the inbox), were left as they were.",
    )


@admin.action(description="Mark dormant", permissions=["change"])
def mark_dormant(modeladmin, request, queryset):
    n = sum(staff.staff_mark_dormant(fan, str(request.user), user=request.user) for fan in queryset)
    modeladmin.message_user(request, f"{n} fan(s) marked dormant.")


class FanAdmin(CreatorScopedAdmin):
    list_display = [
        "conversation",
        "name",
        "creator",
        "state",
        "total_spent",
        "whale_score",
        "messages_received",
        "last_activity",
        "opted_out",
        "safety",
        "timeline_link",
    ]
    list_display_links = None  # the fan id opens the conversation; the books are never a form to type into
    list_filter = [
        "creator",
        "state",
        SpendFilter,
        WhaleFilter,
        "last_interaction_ts",
        "opted_out",
        "safety_flag",
        "subscription_status",
    ]
    search_fields = ["name", "=fan_id"]
    search_help_text = "Search by name or exact platform fan id."
    ordering = ["-last_interaction_ts"]
    list_select_related = ["creator"]
    inlines = [TransitionInline]
    actions = [hand_off_fans, resume_fans, mark_dormant]
    change_form_template = "admin/fans/fan/change_form.html"

    class Media:
        css = {"all": ["salesbot/inbox.css"]}  # the handoff badges

    # Only what a person may set by hand is editable: the name, notes and the fan's own mode. Moves go
    # through the state machine (a FanTransition each), a safety flag is cleared only by a manager with a reason
    # (fans.services.clear_safety_flag), and the books (spend, counts, content sent) only by the pipeline.
    EDITABLE = ["name", "notes", "autonomy"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Fan._meta.concrete_fields if f.name not in self.EDITABLE and f.name != "id"]

    def has_add_permission(self, request):
        return False  # fans come from the platform

    @admin.display(description="fan", ordering="fan_id")
    def conversation(self, obj):
        return format_html(
            '<a href="{}" class="open-conversation">{}</a>', reverse("admin:inbox_fan", args=[obj.pk]), obj.fan_id
        )

    @admin.display(description="handoff", ordering="safety_flag")
    def safety(self, obj):
        """Safety (nobody sells) in red, a sale a person must make in amber; the reason in words."""
        kind = handoff_kind(obj)
        if kind == "safety":
            return format_html(
                '<span class="badge badge-safety safety-flag">⚠ {}</span>', handoff_label(obj) or "safety"
            )
        if kind:
            return format_html('<span class="badge badge-sale">{}</span>', handoff_label(obj) or "handed off")
        return "—"

    @admin.display(description="last activity", ordering="last_interaction_ts")
    def last_activity(self, obj):
        return date_format(localtime(obj.last_interaction_ts), "Y-m-d H:i") if obj.last_interaction_ts else "—"

    @admin.display(description="timeline")
    def timeline_link(self, obj):
        return format_html('<a href="{}">timeline</a>', reverse("admin:fans_fan_timeline", args=[obj.pk]))

    def get_urls(self):
        if self.model is not Fan:
            return super().get_urls()
        view = self.admin_site.admin_view(self.timeline_view)
        return [path("<path:object_id>/timeline/", view, name="fans_fan_timeline"), *super().get_urls()]

    def timeline_view(self, request, object_id):
        fan = get_object_or_404(Fan.objects.select_related("creator"), pk=object_id)
        if not self.has_view_permission(request, fan):
            raise PermissionDenied
        if request.method == "POST":
            if not self.has_change_permission(request, fan):
                raise PermissionDenied
            return self._timeline_post(request, fan)
        return self._timeline_page(request, fan, NoteForm(), HandoffForm())

    def _timeline_post(self, request, fan):
        op, who = request.POST.get("op"), str(request.user)
        note_form, handoff_form, facts_form = NoteForm(), HandoffForm(), None
        if op == "facts":
            facts_form = FactFormSet(request.POST, queryset=facts.ordered(fan), prefix="facts")
            if facts_form.is_valid():
                try:
                    facts.edit(fan, **fact_changes(facts_form))
                except ValueError as e:
                    self.message_user(request, str(e), messages.ERROR)
                else:
                    self.message_user(
                        request, "Facts saved: the model reads them with this fan's next message.", messages.SUCCESS
                    )
                    return redirect(request.path)
        elif op == "note":
            note_form = NoteForm(request.POST)
            if note_form.is_valid():
                staff.add_note(fan, note_form.cleaned_data["note"], who)
                self.message_user(request, "Note added.", messages.SUCCESS)
                return redirect(request.path)
        elif op == "hand_off":
            handoff_form = HandoffForm(request.POST)
            if handoff_form.is_valid():
                staff.staff_hand_off(fan, who, handoff_form.cleaned_data["reason"], user=request.user)
                self.message_user(
                    request, "Handed off: the bot will not message this fan until resumed.", messages.SUCCESS
                )
                return redirect(request.path)
        elif op == "resume":
            done = staff.staff_resume(fan, who, user=request.user)
            self.message_user(
                request,
                "Resumed: back to engaged, the bot answers again."
                if done
                else "A safety flag stays until a manager clears it with a reason (in the inbox)."
                if fan.safety_flag
                else "Only a handed-off fan can be resumed.",
                messages.SUCCESS if done else messages.ERROR,
            )
            return redirect(request.path)
        elif op == "dormant":
            done = staff.staff_mark_dormant(fan, who, user=request.user)
            self.message_user(
                request,
                "Marked dormant." if done else f"A {fan.state} fan cannot be marked dormant.",
                messages.SUCCESS if done else messages.ERROR,
            )
            return redirect(request.path)
        else:
            self.message_user(request, "Unknown operation.", messages.ERROR)
        return self._timeline_page(request, fan, note_form, handoff_form, facts_form)

    def _timeline_page(self, request, fan, note_form, handoff_form, facts_form=None):
        entries = staff.timeline(fan)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Timeline: {fan}",
            "opts": Fan._meta,
            "fan": fan,
            "entries": entries,
            "total": staff.timeline_size(fan),
            "note_form": note_form,
            "handoff_form": handoff_form,
            "facts_form": facts_form or FactFormSet(queryset=facts.ordered(fan), prefix="facts"),
            "can_change": self.has_change_permission(request, fan),
            "handed_off": fan.state == FanState.HANDED_OFF and not fan.safety_flag,
            "change_url": reverse("admin:fans_fan_change", args=[fan.pk]),
            "spend_capped": spend_capped(fan),
            "spend_24h": spent_last_24h(fan),
        }
        return TemplateResponse(request, "admin/fans/fan/timeline.html", context)


class NeedsHumanFanAdmin(FanAdmin):
    """Handed-off fans a person must answer, and safety-flagged fans in any state (no sends reach them until
    a staff resume): safety-flagged first, then the most recently active."""

    list_display = [
        "conversation",
        "name",
        "creator",
        "safety",
        "assigned_to",
        "total_spent",
        "last_activity",
        "timeline_link",
    ]
    list_filter = ["creator", "safety_flag"]
    ordering = ["-safety_flag", "-last_interaction_ts"]
    actions = [resume_fans, mark_dormant]

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(
            request, {"title": "Fans who need a human: safety flags first", **(extra_context or {})}
        )

    def get_queryset(self, request):
        return super().get_queryset(request).filter(needs_a_human())

    def has_add_permission(self, request):
        return False


class MessageAdmin(LedgerAdmin):
    creator_path = "fan__creator"
    list_display = ["fan", "direction", "text", "ts"]
    list_filter = ["direction", "fan__creator"]
    search_fields = ["text", "=fan__fan_id"]
    raw_id_fields = ["fan"]


class FanTransitionAdmin(LedgerAdmin):
    creator_path = "fan__creator"
    list_display = ["fan", "from_state", "to_state", "reason", "by_staff", "by_user", "ts"]
    list_filter = ["to_state", "by_staff", "fan__creator"]
    search_fields = ["=fan__fan_id", "reason"]
    raw_id_fields = ["fan"]

"""The learning ledgers in admin: read-only (team.scoped_admin.LedgerAdmin); the pipeline books them. And the
holdout experiments: their results, started and stopped by a manager through learning.experiments."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.dateformat import format as date_format
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.timezone import localtime

from learning import experiments
from models_registry.models import Creator, Experiment
from team import scope
from team.scoped_admin import CreatorScopedAdmin, LedgerAdmin


class ActionAdmin(LedgerAdmin):
    list_display = [
        "ts",
        "fan",
        "action",
        "content_key",
        "price",
        "hook",
        "fan_state",
        "source",
        "status",
        "purchased",
        "ghosted",
    ]
    list_filter = ["creator", "action", "source", "status", "hook", "fan_state", "purchased", "ghosted"]
    search_fields = ["=fan__fan_id", "content_key", "reason", "error"]
    date_hierarchy = "ts"
    raw_id_fields = ["fan"]


class OutcomeAdmin(LedgerAdmin):
    list_display = ["ts", "fan", "event", "amount", "action"]
    list_filter = ["creator", "event"]
    search_fields = ["=fan__fan_id", "platform_event_id"]
    date_hierarchy = "ts"
    raw_id_fields = ["fan", "action"]


# --- holdout experiments: the list with each one's results, start and stop (learning.experiments) -----


def may_manage_experiments(user, creator) -> bool:
    """Start or stop a creator's experiment: a manager (the change permission on experiments or on the
    creator), the creator in the user's scope. A chatter only reads the results."""
    return bool(
        creator is not None
        and scope.sees(user, creator.pk)
        and (user.has_perm("models_registry.change_experiment") or user.has_perm("models_registry.change_creator"))
    )


def _safe_next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    ok = url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure())
    return target if target and ok else fallback


class StartExperimentForm(forms.Form):
    creator = forms.ModelChoiceField(queryset=Creator.objects.none())
    control_percent = forms.IntegerField(
        label="Control share (%)",
        min_value=1,
        max_value=99,
        initial=20,
        help_text="Share of new fans held out on the playbook ladder (no learned prices, no exploration).",
    )
    population = forms.ChoiceField(
        choices=[("new", "new subscribers only"), ("all", "all fans in scope")],
        initial="new",
        required=False,
        help_text="All fans: those already there are assigned too, and their spend before the start narrows the "
        "interval (CUPED).",
    )
    harm_percent = forms.FloatField(
        label="Guardrail harm limit (points)",
        min_value=0,
        max_value=100,
        initial=2,
        required=False,
        help_text="A guardrail (opt-outs, safety handoffs, expiries, chargebacks per fan) is breached when the "
        "learning arm is worse than the control by more than this, by the always-valid interval.",
    )
    stop_on_harm = forms.BooleanField(required=False, label="Stop when a guardrail is breached")

    def __init__(self, creators, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["creator"].queryset = creators


class ExperimentAdmin(CreatorScopedAdmin):
    """Every experiment in the user's scope with its results (learning.experiments.results, the same figures
    as the dashboard and the ops API), who started and stopped it. Started and stopped only through the
    service (the start page, the stop confirmation, the dashboard's buttons): never typed in or deleted."""

    list_display = [
        "id",
        "creator",
        "links",
        "state",
        "control",
        "started",
        "stopped",
        "learning_arm",
        "control_arm",
        "difference",
        "checks",
        "p_beats",
        "verdict",
    ]
    list_display_links = None
    list_filter = ["creator", ("stopped_at", admin.EmptyFieldListFilter)]
    list_select_related = ["creator", "started_by_user", "stopped_by_user"]
    list_per_page = 20
    change_list_template = "admin/models_registry/experiment/change_list.html"

    def has_view_permission(self, request, obj=None):
        """Whoever may read the creator reads its experiments' results (as on the dashboard)."""
        return self.in_scope(request, obj) and (
            super().has_view_permission(request, obj) or request.user.has_perm("models_registry.view_creator")
        )

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("start/", wrap(self.start_view), name="models_registry_experiment_start"),
            path("<int:pk>/stop/", wrap(self.stop_view), name="models_registry_experiment_stop"),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        can_start = self._managed_creators(request).exists()
        return super().changelist_view(request, {**(extra_context or {}), "can_start": can_start})

    # -- the columns -----------------------------------------------------------------------------------
    def _results(self, obj) -> dict:
        if not hasattr(obj, "_results"):
            obj._results = experiments.results(obj)
        return obj._results

    @admin.display(description="state", ordering="stopped_at")
    def state(self, obj):
        return "running" if obj.running else "stopped"

    @admin.display(description="control", ordering="control_share")
    def control(self, obj):
        return f"{obj.control_share:.0%}"

    @staticmethod
    def _who(user, name):
        return (user.get_username() if user else name) or "?"

    @admin.display(description="started", ordering="started_at")
    def started(self, obj):
        return format_html(
            "{}<br>by {}",
            date_format(localtime(obj.started_at), "Y-m-d H:i"),
            self._who(obj.started_by_user, obj.started_by),
        )

    @admin.display(description="stopped", ordering="stopped_at")
    def stopped(self, obj):
        if obj.running:
            return "—"
        return format_html(
            "{}<br>by {}",
            date_format(localtime(obj.stopped_at), "Y-m-d H:i"),
            self._who(obj.stopped_by_user, obj.stopped_by),
        )

    def _arm(self, obj, arm):
        v = self._results(obj)["arms"][arm]
        r = v["revenue_per_fan"]
        return format_html(
            "{} fans<br>${} per fan<br><small>90% ${} – ${}</small>",
            v["fans"],
            f"{r['mean']:.2f}",
            f"{r['interval_90'][0]:.2f}",
            f"{r['interval_90'][1]:.2f}",
        )

    @admin.display(description="learning arm")
    def learning_arm(self, obj):
        return self._arm(obj, experiments.LEARNING)

    @admin.display(description="control arm")
    def control_arm(self, obj):
        return self._arm(obj, experiments.CONTROL)

    @admin.display(description="difference per fan")
    def difference(self, obj):
        cmp = self._results(obj)["comparison"]
        d, cuped = cmp.get("revenue_per_fan_difference"), cmp.get("revenue_per_fan_difference_cuped")
        if d is None:
            return "—"
        out = format_html(
            "${}<br><small>always-valid 90% ${} – ${}</small>",
            f"{d['mean']:.2f}",
            f"{d['always_valid_90'][0]:.2f}",
            f"{d['always_valid_90'][1]:.2f}",
        )
        if cuped:
            out += format_html(
                "<br><small>CUPED ${} ({} – {})</small>",
                f"{cuped['mean']:.2f}",
                f"{cuped['interval'][0]:.2f}",
                f"{cuped['interval'][1]:.2f}",
            )
        return out

    @admin.display(description="checks")
    def checks(self, obj):
        """Sample-ratio mismatch, guardrails and the population, as an experimentation platform shows them."""
        res = self._results(obj)
        srm = res["srm"]
        p = "" if srm["p"] is None else f" (p={srm['p']:.2f})"
        line = (
            format_html('<strong class="srm-warning">SRM p={}: untrustworthy</strong>', f"{srm['p']:.1g}")
            if srm["mismatch"]
            else format_html("split ok{}", p)
        )
        breached = ", ".join(res["guardrail_breached"])
        line += (
            format_html('<br><strong class="guardrail-breached">guardrail breached: {}</strong>', breached)
            if breached
            else format_html("<br>guardrails ok")
        )
        who = "all fans" if obj.population == "all" else "new fans"
        return line + format_html("<br><small>{}{}</small>", who, f"; {obj.stop_reason}" if obj.stop_reason else "")

    @admin.display(description="P(learning beats control)")
    def p_beats(self, obj):
        p = self._results(obj)["comparison"].get("p_learning_beats_control_revenue")
        return "—" if p is None else f"{p:.2f}"

    @admin.display(description="verdict")
    def verdict(self, obj):
        return self._results(obj)["comparison"]["verdict"]

    @admin.display(description="")
    def links(self, obj):  # the column's name; get_list_display gives it the request
        return ""

    def get_list_display(self, request):
        """The last column links the creator's dashboard and, for a manager, stops a running experiment."""

        def links(obj):
            dashboard = reverse("admin:models_registry_creator_dashboard", args=[obj.creator_id])
            if obj.running and may_manage_experiments(request.user, obj.creator):
                stop = reverse("admin:models_registry_experiment_stop", args=[obj.pk])
                return format_html(
                    '<a href="{}">dashboard</a><br><a class="experiment-stop" href="{}">stop…</a>', dashboard, stop
                )
            return format_html('<a href="{}">dashboard</a>', dashboard)

        links.short_description = ""
        return [links if name == "links" else name for name in self.list_display]

    # -- start and stop ------------------------------------------------------------------------------
    def _managed_creators(self, request):
        if not (
            request.user.has_perm("models_registry.change_experiment")
            or request.user.has_perm("models_registry.change_creator")
        ):
            return Creator.objects.none()
        return scope.limit(Creator.objects.all(), request.user, "pk")

    def _page(self, request, template, title, **context):
        return TemplateResponse(
            request,
            template,
            {
                **self.admin_site.each_context(request),
                "title": title,
                "opts": self.model._meta,
                "has_view_permission": True,
                **context,
            },
        )

    def start_view(self, request):
        creators = self._managed_creators(request)
        if not creators.exists():
            raise PermissionDenied
        initial = {"creator": request.GET.get("creator")}
        form = StartExperimentForm(creators, request.POST if request.method == "POST" else None, initial=initial)
        back = _safe_next(request, reverse("admin:models_registry_experiment_changelist"))
        if form.is_bound and form.is_valid():
            creator = form.cleaned_data["creator"]
            try:
                data = form.cleaned_data
                exp = experiments.start(
                    creator,
                    data["control_percent"] / 100,
                    by=request.user,
                    population=data.get("population") or "new",
                    harm_limit=(data["harm_percent"] if data.get("harm_percent") is not None else 2) / 100,
                    stop_on_harm=bool(data.get("stop_on_harm")),
                )
            except experiments.ExperimentError as e:
                form.add_error(None, str(e))
            else:
                self.message_user(
                    request,
                    f"Holdout experiment {exp.pk} started for {creator}: "
                    f"{exp.control_share:.0%} of new fans held out as the control.",
                    messages.SUCCESS,
                )
                return redirect(back)
        return self._page(
            request, "admin/models_registry/experiment/start.html", "Start a holdout experiment", form=form, next=back
        )

    def stop_view(self, request, pk):
        exp = get_object_or_404(Experiment.objects.select_related("creator"), pk=pk)
        if not may_manage_experiments(request.user, exp.creator):
            raise PermissionDenied
        back = _safe_next(request, reverse("admin:models_registry_experiment_changelist"))
        if not exp.running:
            self.message_user(request, f"Experiment {exp.pk} was already stopped.", messages.WARNING)
            return redirect(back)
        if request.method == "POST":
            stopped = experiments.stop(exp.creator, by=request.user)
            if stopped is not None:
                self.message_user(
                    request,
                    f"Holdout experiment {stopped.pk} stopped for {exp.creator}: its fans "
                    f"keep their arm, its results stay.",
                    messages.SUCCESS,
                )
            return redirect(back)
        return self._page(
            request,
            "admin/models_registry/experiment/stop.html",
            f"Stop holdout experiment {exp.pk}?",
            experiment=exp,
            results=self._results(exp),
            next=back,
        )

"""Segments and campaigns in admin: a segment shows its live count, a sample of fans and who the contact rule
leaves out and why; a campaign's form suggests a price and hook for its segment from the campaign
posteriors; managers approve or cancel (unsend) from the list; a sent campaign's page shows its results."""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html, format_html_join

from learning.stats import campaigns as campaign_stats
from salesbot.campaigns import results, segments, sending, services
from salesbot.campaigns.models import Campaign
from team.scoped_admin import CreatorScopedAdmin


def _left_out_table(left: dict):
    if not left:
        return format_html("<p>Nobody is left out.</p>")
    rows = format_html_join(
        "", "<tr><td>{}</td><td class='num'>{}</td></tr>", sorted(left.items(), key=lambda kv: -kv[1])
    )
    return format_html(
        "<table class='campaign-table left-out'><thead><tr><th>left out because</th><th>fans</th></tr>"
        "</thead><tbody>{}</tbody></table>",
        rows,
    )


def _preview_html(p: dict):
    sample = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td class='num'>${}</td></tr>",
        ((f["name"] or "—", f["fan_id"], f["state"], f["total_spent"]) for f in p["sample"]),
    )
    return format_html(
        "<p class='campaign-count'><strong id='segment-count'>{}</strong> fans match now; "
        "<strong id='segment-eligible'>{}</strong> can be reached, {} left out.</p>{}"
        "<table class='campaign-table sample'><caption>A sample of the fans it reaches</caption><thead><tr>"
        "<th>name</th><th>fan id</th><th>state</th><th>spent</th></tr></thead><tbody>{}</tbody></table>",
        p["count"],
        p["eligible"],
        p["count"] - p["eligible"],
        _left_out_table(p["left_out"]),
        sample,
    )


class SegmentAdmin(CreatorScopedAdmin):
    list_display = ["name", "creator", "live_count", "created_at"]
    list_filter = ["creator"]
    readonly_fields = ["preview"]
    fieldsets = [
        (None, {"fields": ["creator", "name"]}),
        ("Live preview", {"fields": ["preview"]}),
        (
            "Filters",
            {
                "fields": [
                    "states",
                    "min_spent",
                    "max_spent",
                    "whale_candidates",
                    "bought_content",
                    "never_bought_content",
                    "active_after",
                    "active_before",
                    "subscription",
                    "arm",
                    "fan_ids",
                ]
            },
        ),
    ]

    class Media:
        css = {"all": ["salesbot/campaigns.css"]}

    @admin.display(description="fans now")
    def live_count(self, obj):
        return segments.fans(obj).count()

    @admin.display(description="who it reaches")
    def preview(self, obj):
        if obj is None or obj.pk is None:
            return "Save the segment to see its live count and who the contact rule leaves out."
        return _preview_html(segments.preview(obj))

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "creator",
            "name",
            "segment",
            "text",
            "content_key",
            "price",
            "hook",
            "send_at",
            "holdout_share",
            "window_hours",
        ]

    def clean(self):
        data = super().clean()
        creator, segment = data.get("creator"), data.get("segment")
        if creator is None or segment is None or not data.get("text"):
            return data
        found = services.problem(
            creator,
            text=data["text"],
            content_key=data.get("content_key") or "",
            price=data.get("price"),
            holdout_share=data.get("holdout_share") or 0,
            segment=segment,
        )
        if found:
            self.add_error(found[0] if found[0] in self.fields else None, found[1])
        return data


class CampaignAdmin(CreatorScopedAdmin):
    form = CampaignForm
    list_display = ["name", "creator", "segment", "status", "send_at", "price", "holdout_share", "approved_by"]
    list_filter = ["status", "creator"]
    actions = ["approve", "cancel"]
    readonly_fields = ["status", "suggestion", "reach", "outcome", "approved_by", "approved_at", "sent_at"]

    class Media:
        css = {"all": ["salesbot/campaigns.css"]}

    def get_fieldsets(self, request, obj=None):
        edit = [
            "creator",
            "name",
            "segment",
            "text",
            "content_key",
            "price",
            "hook",
            "send_at",
            "holdout_share",
            "window_hours",
        ]
        if obj is None:
            return [(None, {"fields": edit})]
        first = ("Results", {"fields": ["outcome"]}) if obj.sent_at else ("Who it reaches", {"fields": ["reach"]})
        return [
            ("Status", {"fields": ["status", "approved_by", "approved_at", "sent_at"]}),
            first,
            ("Suggested for this segment", {"fields": ["suggestion"]}),
            ("Message", {"fields": edit}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.status != Campaign.Status.DRAFT:  # approved: what goes out is what was approved
            return list(self.readonly_fields) + [f for f in CampaignForm.Meta.fields]
        return self.readonly_fields

    @admin.display(description="price and hook")
    def suggestion(self, obj):
        s = campaign_stats.suggestion(obj.creator, obj.segment_id)
        if not s.get("price"):
            return s.get("note", "no campaign PPV sent yet: no suggestion")
        hook = s.get("hook") or {}
        return format_html(
            "Price <strong>${}</strong> ({}; ${} per send, 90% {}–{}) · hook <strong>{}</strong> ({}) · from {}",
            s["price"]["value"],
            s["price"]["sure"],
            s["price"]["revenue_per_send"]["mean"],
            *s["price"]["revenue_per_send"]["ci90"],
            hook.get("value", "—"),
            hook.get("sure", ""),
            s["scope"],
        )

    @admin.display(description="preview")
    def reach(self, obj):
        return _preview_html(segments.preview(obj.segment, campaign=obj))

    @admin.display(description="results")
    def outcome(self, obj):
        if obj.queue_id:
            sending.refresh_provider_stats(obj)
        r = results.results(obj)
        lift = r["lift"] or {}
        viewed = r["viewed"] if r["viewed"] is not None else "—"
        pairs = [
            ("recipients", r["recipients"]),
            ("sent", r["sent"]),
            ("viewed", viewed),
            ("held out", r["holdout"]),
            ("bought", r["bought"]),
            ("revenue", f"${r['revenue']}"),
            ("revenue per recipient", f"${r['revenue_per_recipient']}"),
            ("replied", r.get("replied", 0)),
            ("tipped", r.get("tipped", 0)),
            ("opted out since", r.get("opted_out", 0)),
            ("expired since", r.get("expired", 0)),
        ]
        if lift:
            lo, hi = lift["ci90"]
            ilo, ihi = lift["incremental_ci90"]
            pairs += [
                ("lift per fan", f"${lift['per_fan_lift']:.2f} (90% interval ${lo:.2f} to ${hi:.2f})"),
                ("incremental revenue", f"${lift['incremental_revenue']:.2f} (90% interval ${ilo:.2f} to ${ihi:.2f})"),
            ]
        table = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", pairs)
        return format_html(
            "<table class='campaign-table results' id='campaign-results'><tbody>{}</tbody></table>"
            "<p class='verdict'>{}</p>{}",
            table,
            lift.get("verdict", ""),
            _left_out_table(r["left_out"]),
        )

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    @admin.action(description="Approve selected campaigns (they go out at their send time)", permissions=["change"])
    def approve(self, request, queryset):
        self._each(request, queryset, sending.approve, "approved")

    @admin.action(
        description="Cancel selected campaigns (before the send), or unsend them (after)", permissions=["change"]
    )
    def cancel(self, request, queryset):
        self._each(request, queryset, sending.cancel, "cancelled")

    def _each(self, request, queryset, move, word):
        done = 0
        for campaign in queryset.select_related("creator"):
            try:
                move(campaign, request.user)
                done += 1
            except sending.CampaignError as e:
                self.message_user(request, f"{campaign}: {e}", messages.WARNING)
        if done:
            self.message_user(request, f"{done} campaign(s) {word}.", messages.SUCCESS)

"""Fans in admin: the list, the timeline page and its actions, and the "needs a human" list."""

from decimal import Decimal

import pytest
from django.forms import MultiWidget
from django.urls import reverse

from fans import staff
from fans.models import Fan, FanTransition
from tests.admin.conftest import at
from tests.factories import FanFactory


def timeline_url(fan):
    return reverse("admin:fans_fan_timeline", args=[fan.pk])


def test_changelist_filters_and_searches(admin_client, creator, fan):
    whale = FanFactory(creator=creator, name="Moby", fan_id=777, total_spent=Decimal("450"), whale_score=4)
    r = admin_client.get("/admin/fans/fan/")
    assert r.status_code == 200 and b"John" in r.content and b"Moby" in r.content
    for query, shown, hidden in [
        ("q=Moby", "Moby", "John"),
        ("q=777", "Moby", "John"),
        ("q=12345678", "John", "Moby"),
        ("spend=200%2B", "Moby", "John"),
        ("whale=3%2B", "Moby", "John"),
        ("spend=0", "John", "Moby"),
        (f"state__exact=new&creator__id__exact={creator.pk}", "John", "nobody"),
    ]:
        body = admin_client.get(f"/admin/fans/fan/?{query}").content.decode()
        assert shown in body and hidden not in body, query
    assert timeline_url(whale) in admin_client.get("/admin/fans/fan/").content.decode()


def test_change_page_links_to_the_timeline(admin_client, fan):
    r = admin_client.get(reverse("admin:fans_fan_change", args=[fan.pk]))
    assert r.status_code == 200 and timeline_url(fan) in r.content.decode()


def test_timeline_merges_everything_in_order(conversation):
    kinds = [(e.kind, e.title) for e in staff.timeline(conversation)]
    assert kinds == [
        ("action", "action: welcome"),
        ("message_out", "bot wrote"),
        ("transition", "state: new → greeted"),
        ("message_in", "John wrote"),
        ("outcome", "outcome: replied"),
        ("transition", "state: greeted → engaged"),
        ("action", "action: ppv"),
        ("message_out", "bot wrote"),
        ("transition", "state: engaged → pitched"),
        ("outcome", "outcome: purchased $18.00"),
        ("transition", "state: pitched → buyer"),
    ]
    ppv = [e for e in staff.timeline(conversation) if e.title == "action: ppv"][0]
    assert "$18.00" in ppv.details and "hook vulnerability" in ppv.details and "bought" in ppv.details


def test_timeline_keeps_the_latest_entries(conversation):
    entries = staff.timeline(conversation, limit=3)
    assert [e.title for e in entries] == [
        "state: engaged → pitched",
        "outcome: purchased $18.00",
        "state: pitched → buyer",
    ]
    assert staff.timeline_size(conversation) == 11


def test_timeline_page_shows_the_conversation(admin_client, conversation):
    r = admin_client.get(timeline_url(conversation))
    body = r.content.decode()
    assert r.status_code == 200
    for text in [
        "Conversation timeline",
        "hi there",
        "i&#x27;ve never shown this to anyone 🥺",
        "outcome: purchased $18.00",
        "state: pitched → buyer",
        "Hand off to a human",
        "Mark dormant",
        "Add note",
    ]:
        assert text in body, text
    assert body.index("hi there") < body.index("outcome: purchased $18.00")


def test_add_note_appends_a_timestamped_line(admin_client, fan):
    r = admin_client.post(timeline_url(fan), {"op": "note", "note": "asked about   customs"}, follow=True)
    assert b"Note added." in r.content
    staff.add_note(fan, "second", "ops", now=at(0))
    fan.refresh_from_db()
    first, second = fan.notes.splitlines()
    assert first.endswith("] admin: asked about customs") and first.startswith("[20")
    assert second == "[2026-11-20 18:00 UTC] ops: second"


def test_empty_note_is_refused(admin_client, fan):
    r = admin_client.post(timeline_url(fan), {"op": "note", "note": "  "})
    assert r.status_code == 200 and b"This field is required." in r.content
    fan.refresh_from_db()
    assert fan.notes == ""


def test_hand_off_resume_and_dormant_from_the_timeline(admin_client, fan):
    admin_client.post(timeline_url(fan), {"op": "hand_off", "reason": "wants to meet"})
    fan.refresh_from_db()
    assert (fan.state, fan.handoff_reason) == ("handed_off", "wants to meet")
    r = admin_client.get(timeline_url(fan))
    assert b"Resume (back to engaged)" in r.content and b"Hand off to a human" not in r.content

    admin_client.post(timeline_url(fan), {"op": "resume"})
    fan.refresh_from_db()
    assert (fan.state, fan.handoff_reason) == ("engaged", "")
    resumed = FanTransition.objects.filter(fan=fan).order_by("-id").first()
    assert (resumed.from_state, resumed.to_state, resumed.by_staff) == ("handed_off", "engaged", True)
    assert resumed.reason == "resumed by admin in admin"

    admin_client.post(timeline_url(fan), {"op": "dormant"})
    fan.refresh_from_db()
    assert fan.state == "dormant"
    r = admin_client.post(timeline_url(fan), {"op": "resume"}, follow=True)
    assert b"Only a handed-off fan can be resumed." in r.content


def test_list_actions(admin_client, creator):
    a, b = FanFactory(creator=creator), FanFactory(creator=creator)
    admin_client.post("/admin/fans/fan/", {"action": "hand_off_fans", "_selected_action": [a.pk, b.pk]})
    assert set(Fan.objects.values_list("state", flat=True)) == {"handed_off"}
    admin_client.post("/admin/fans/fan/", {"action": "resume_fans", "_selected_action": [a.pk]})
    admin_client.post("/admin/fans/fan/", {"action": "mark_dormant", "_selected_action": [b.pk]})
    a.refresh_from_db(), b.refresh_from_db()
    assert (a.state, b.state) == ("engaged", "dormant")


def test_needs_human_lists_handed_off_fans_safety_first(admin_client, creator):
    FanFactory(creator=creator, name="Happy", state="engaged")
    FanFactory(
        creator=creator, name="Later", state="handed_off", handoff_reason="video call", last_interaction_ts=at(60)
    )
    FanFactory(
        creator=creator,
        name="Unsafe",
        state="handed_off",
        safety_flag=True,
        handoff_reason="self-harm",
        last_interaction_ts=at(0),
    )
    body = admin_client.get("/admin/fans/needshumanfan/").content.decode()
    assert "Happy" not in body
    assert body.index("Unsafe") < body.index("Later")
    assert "self-harm" in body and "video call" in body
    assert "Fans who need a human: safety flags first" in body
    assert body.count("badge-safety") == 1 and body.index("badge-safety") < body.index("Later")


def test_a_flagged_fan_parked_as_dormant_stays_on_the_needs_human_list(admin_client, creator):
    """The sender refuses a flagged fan until a staff resume, so staff must keep seeing it."""
    FanFactory(creator=creator, name="Quiet", state="dormant")
    FanFactory(creator=creator, name="Parked", state="dormant", safety_flag=True, handoff_reason="possible minor")
    body = admin_client.get("/admin/fans/needshumanfan/").content.decode()
    assert "Parked" in body and "possible minor" in body
    assert "Quiet" not in body


def test_needs_human_cannot_add(admin_client):
    assert admin_client.get("/admin/fans/needshumanfan/add/").status_code == 403


@pytest.mark.parametrize("op", ["note", "hand_off", "resume", "dormant"])
def test_view_only_staff_cannot_act(client, django_user_model, fan, op):
    from django.contrib.auth.models import Permission

    from tests.team_helpers import chatter

    user = chatter("viewer", fan.creator, password="pw")  # the fan's creator in scope ...
    user.groups.clear()  # ... but only the view permission
    user.user_permissions.add(Permission.objects.get(codename="view_fan"))
    client.force_login(user)
    assert client.get(timeline_url(fan)).status_code == 200
    assert client.post(timeline_url(fan), {"op": op, "note": "x"}).status_code == 403


def test_anonymous_is_sent_to_login(client, fan):
    r = client.get(timeline_url(fan))
    assert r.status_code == 302 and "/admin/login/" in r["Location"]


def _change_form_data(admin_client, fan):
    """The change form as the browser would post it back, unchanged."""
    r = admin_client.get(reverse("admin:fans_fan_change", args=[fan.pk]))
    form = r.context["adminform"].form
    data = {}
    for name, field in form.fields.items():
        value = form[name].value()
        if value is None or value is False:
            continue
        if isinstance(field.widget, MultiWidget):  # date and time posted as two inputs
            for i, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{i}"] = part
        else:
            data[name] = field.prepare_value(value)
    for formset in r.context["inline_admin_formsets"]:
        mgmt = formset.formset.management_form
        for name in mgmt.fields:
            data[f"{mgmt.prefix}-{name}"] = mgmt[name].value()
        for i, f in enumerate(formset.formset.initial_forms):
            data[f"{formset.formset.prefix}-{i}-id"] = f.instance.pk
            data[f"{formset.formset.prefix}-{i}-fan"] = fan.pk
    return r, data


def test_change_form_shows_state_opt_out_creator_and_flag_read_only(admin_client, creator, fan):
    r, _ = _change_form_data(admin_client, fan)
    form = r.context["adminform"].form
    for name in ("state", "opted_out", "creator", "safety_flag"):
        assert name not in form.fields, name
    assert {"state", "opted_out", "creator", "safety_flag"} <= set(r.context["adminform"].readonly_fields)
    assert "name" in form.fields  # ordinary fields stay editable


def test_posting_state_opt_out_or_creator_in_the_change_form_changes_nothing(admin_client, creator, fan):
    from tests.factories import CreatorFactory

    other = CreatorFactory()
    staff.staff_hand_off(fan, "ops", "safety: possible minor")
    Fan.objects.filter(pk=fan.pk).update(safety_flag=True)
    _, data = _change_form_data(admin_client, fan)
    data.update({"name": "Johnny", "state": "engaged", "opted_out": "on", "creator": other.pk, "safety_flag": ""})
    r = admin_client.post(reverse("admin:fans_fan_change", args=[fan.pk]), data)
    assert r.status_code == 302, r.context["adminform"].form.errors if r.context else r
    fan.refresh_from_db()
    assert fan.name == "Johnny"  # the post was accepted ...
    assert (fan.state, fan.opted_out, fan.creator_id, fan.safety_flag) == ("handed_off", False, creator.pk, True)
    assert FanTransition.objects.filter(fan=fan).count() == 1  # ... and no move bypassed the state machine


def test_fans_are_not_added_by_hand(admin_client, creator):
    assert admin_client.get(reverse("admin:fans_fan_add")).status_code == 403


def test_a_flagged_dormant_fan_is_not_resumed_from_the_timeline(admin_client, creator):
    fan = FanFactory(creator=creator, state="dormant", safety_flag=True, handoff_reason="safety: possible minor")
    assert 'value="resume"' not in admin_client.get(timeline_url(fan)).content.decode()
    admin_client.post(timeline_url(fan), {"op": "resume"})
    fan.refresh_from_db()
    assert (fan.state, fan.safety_flag) == ("dormant", True)


def test_an_offer_the_24h_spend_cap_blocks_shows_on_the_timeline(admin_client, demo, monkeypatch):
    """A whale mid-sale hits the cap: staff see which offer was held back and why, not a bare aftercare text."""
    from learning.services import record_outcome
    from salesbot.pipeline import engine, sender
    from salesbot.pipeline.decisions import Decision

    whale = FanFactory(creator=demo, state="whale_candidate", total_spent=Decimal("520"), messages_received=14)
    record_outcome(whale, "tipped", amount=Decimal("520"))
    monkeypatch.setattr(
        engine,
        "llm_decide",
        lambda ctx: Decision(
            "ppv",
            text="only for you 😈",
            content_key="video_long",
            price=Decimal("60"),
            hook="exclusivity",
            source="llm",
            reason="whale: testing the price ceiling",
        ),
    )
    decision = engine.decide(engine.build_context(demo, whale, last_text="what else do you have for me?"))
    sender._book_sent(sender.prepare(demo, whale, decision), 80003)

    entry = [e for e in staff.timeline(whale) if e.kind == "action"][-1]
    assert entry.title == "action: text (PPV offer blocked by the 24h spend cap)"
    assert entry.details[0] == "not sent: PPV video_long at $60.00; $520.00 spent in the last 24h, cap $500.00"
    body = admin_client.get(timeline_url(whale)).content.decode()
    assert "PPV offer blocked by the 24h spend cap" in body
    assert "not sent: PPV video_long at $60.00; $520.00 spent in the last 24h, cap $500.00" in body
    assert "reached: $520.00 of $500.00, PPV offers paused" in body

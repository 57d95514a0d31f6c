"""The chatter's inbox: the list (scope, order, badges, unread), the conversation (chat order, composer last),
the composer (refusals keep the text, no send over an unseen message, a vault item at its listed price), the live
feed, safety for people (nobody sells to a flagged fan; only a manager clears the flag, audited), drafts at volume
and ledgers nobody types into."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from fans.models import Fan, Message, SafetyClearance
from learning.models import Action
from salesbot.models import Draft, QueueItem
from salesbot.pipeline import autonomy
from tests.factories import CreatorFactory, FanFactory
from tests.team_helpers import chatter, manager

INBOX = "/admin/inbox/"


def convo(fan):
    return f"{INBOX}{fan.pk}/"


def wrote(fan, text, minutes_ago=0):
    return Message.objects.create(
        fan=fan, direction="in", text=text, ts=timezone.now() - timedelta(minutes=minutes_ago)
    )


@pytest.fixture
def maria(demo):
    return chatter("maria", demo)


@pytest.fixture
def boss(db):
    return manager("boss")


@pytest.fixture
def minor(demo):
    fan = FanFactory(
        creator=demo, name="Kid", state="handed_off", safety_flag=True, handoff_reason="safety: possible minor"
    )
    wrote(fan, "im 16 lol")
    return fan


def test_the_list_puts_fans_who_need_a_human_and_wait_first_and_tells_safety_from_sales(client, demo, maria, minor):
    calm = FanFactory(creator=demo, name="Calm", total_spent=Decimal("400"))
    wrote(calm, "hey", minutes_ago=30)
    Message.objects.create(fan=calm, direction="out", text="hi!")
    custom = FanFactory(
        creator=demo,
        name="Custom",
        state="handed_off",
        handoff_reason="needs a human: custom request needs new content",
    )
    wrote(custom, "$100 for a custom?", minutes_ago=5)
    other = FanFactory(creator=CreatorFactory(slug="someone-else"), name="Stranger")
    wrote(other, "hello?")
    client.force_login(maria)
    body = client.get(INBOX).content.decode()
    assert "Stranger" not in body  # another creator's fan
    assert body.index("Custom") < body.index("Calm") and body.index("Kid") < body.index("Calm")
    assert "⚠ safety: possible minor" in body and "needs a human: custom request needs new content" in body
    assert body.count("badge-safety") == 1


def test_the_conversation_reads_in_chat_order_with_the_composer_under_the_newest_message(client, demo, maria):
    fan = FanFactory(creator=demo, name="Ana")
    wrote(fan, "first message", minutes_ago=10)
    Action.objects.create(
        creator=demo,
        fan=fan,
        action="ppv",
        content_key="combo3",
        price=Decimal("18"),
        status="sent",
        platform_message_id=777,
        purchased=True,
        source="rules",
    )
    Message.objects.create(
        fan=fan,
        direction="out",
        text="a treat for you",
        platform_message_id=777,
        ts=timezone.now() - timedelta(minutes=5),
    )
    wrote(fan, "newest message")
    client.force_login(maria)
    body = client.get(convo(fan)).content.decode()
    body = body[body.index('id="bubbles"') :]
    assert body.index("first message") < body.index("a treat for you") < body.index("newest message")
    assert body.index("newest message") < body.index('id="composer"')
    assert "combo3 · $18.00 · bought ✓" in body and "bot · rules" in body


def test_unread_counts_are_per_person_and_opening_the_conversation_reads_it(client, demo, maria):
    fan = FanFactory(creator=demo, name="Bea")
    wrote(fan, "one")
    wrote(fan, "two")
    client.force_login(maria)
    assert 'title="unread">2<' in client.get(INBOX).content.decode()
    client.get(convo(fan))
    assert 'title="unread"' not in client.get(INBOX).content.decode()
    wrote(fan, "three")
    assert 'title="unread">1<' in client.get(INBOX).content.decode()


def test_a_refused_price_keeps_the_text_and_says_why_in_plain_words(client, demo, maria, platform):
    fan = FanFactory(creator=demo, name="Cleo")
    wrote(fan, "what do you have?")
    client.force_login(maria)
    for price, why in (("500", "outside this creator"), ("25$", "Write the price as a number")):
        r = client.post(
            convo(fan) + "send/", {"text": "made this just for you", "content_key": "combo5", "price": price}
        )
        body = r.content.decode()
        error = body[body.index('id="composer-error"') :].split("</div>")[0]
        assert r.status_code == 400 and why in error and "content_key" not in error
        assert "made this just for you</textarea>" in body and 'value="combo5" data-price="25.00" checked' in body
    assert platform.sends == []


def test_a_vault_item_without_a_price_is_sold_at_its_listed_price(client, demo, maria, platform):
    fan = FanFactory(creator=demo, name="Dan")
    wrote(fan, "show me")
    client.force_login(maria)
    r = client.post(convo(fan) + "send/", {"text": "you'll love this", "content_key": "combo7", "price": ""})
    assert r.status_code == 302
    assert platform.sends[0]["price"] == Decimal("35.00")
    assert Action.objects.get(fan=fan).action == "ppv"


def test_no_send_over_a_message_the_person_has_not_seen_then_a_second_press_confirms(client, demo, maria, platform):
    fan = FanFactory(creator=demo, name="Eve")
    seen = wrote(fan, "hi")
    client.force_login(maria)
    wrote(fan, "lol you're funny")  # arrives while the chatter types
    r = client.post(convo(fan) + "send/", {"text": "want a PPV?", "seen": seen.pk})
    body = r.content.decode()
    assert r.status_code == 409 and platform.sends == []
    assert "wrote since you last looked" in body and "lol you&#x27;re funny" in body
    assert "want a PPV?</textarea>" in body
    newest = Message.objects.filter(fan=fan).latest("id").pk
    assert f'name="seen" value="{newest}"' in body
    assert client.post(convo(fan) + "send/", {"text": "want a PPV?", "seen": newest}).status_code == 302
    assert len(platform.sends) == 1


def test_the_live_feed_answers_briefly_until_something_lands_then_with_it(client, demo, maria):
    fan = FanFactory(creator=demo, name="Fay")
    wrote(fan, "hello")
    client.force_login(maria)
    first = client.get(f"{INBOX}live/", {"fan": fan.pk}).json()
    assert first["changed"] and "hello" in first["bubbles"] and "Fay" in first["list"]
    assert client.get(f"{INBOX}live/", {"fan": fan.pk, "stamp": first["stamp"]}).json() == {
        "stamp": first["stamp"],
        "changed": False,
    }
    other = FanFactory(creator=demo, name="Quiet")
    wrote(other, "hi")
    settled = client.get(
        f"{INBOX}live/", {"fan": fan.pk, "stamp": first["stamp"], "fan_stamp": first["fan_stamp"]}
    ).json()
    assert set(settled["rows"]) == {str(other.pk)} and "bubbles" not in settled  # Fay's screen did not move
    wrote(fan, "are you there?? 🥺")
    later = client.get(
        f"{INBOX}live/", {"fan": fan.pk, "stamp": settled["stamp"], "fan_stamp": settled["fan_stamp"]}
    ).json()
    # only the rows that moved, and the open conversation again
    assert later["changed"] and list(later["rows"]) == [str(fan.pk)] and "are you there??" in later["rows"][str(fan.pk)]
    assert "are you there??" in later["bubbles"]


# --- safety for people -------------------------------------------------------------------------------


def test_a_possible_minor_is_offered_no_paid_content_and_no_ppv_passes_from_any_writer(
    client, demo, maria, minor, platform
):
    client.force_login(maria)
    body = client.get(convo(minor)).content.decode()
    assert 'id="vault-picker"' not in body and "Safety flag" in body
    r = client.post(convo(minor) + "send/", {"text": "just for you", "content_key": "combo7", "price": "35"})
    assert r.status_code == 400 and "safety flag" in r.content.decode()
    # a bot draft for the fan (made before the flag) cannot be approved, by admin or by the ops API
    draft = Draft.objects.create(
        creator=demo, fan=minor, action="ppv", text="treat", content_key="combo3", price=Decimal("18")
    )
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=maria).key}")
    answer = api.post(f"/api/demo/drafts/{draft.pk}/approve", {}, format="json")
    assert answer.status_code == 400 and "safety flag" in answer.json()["error"]
    client.post(f"/admin/salesbot/draft/{draft.pk}/review/", {"op": "approve"})
    assert Draft.objects.get(pk=draft.pk).status == "open"
    # words only: a person may still write to the fan
    assert client.post(convo(minor) + "send/", {"text": "I can't continue this chat, take care"}).status_code == 302
    assert [s["price"] for s in platform.sends] == [Decimal("0")]


def test_a_chatter_cannot_clear_a_safety_flag_a_manager_can_with_a_reason_and_the_audit_shows_it(
    client, demo, maria, boss, minor
):
    client.force_login(maria)
    assert client.post(convo(minor) + "clear_flag/", {"reason": "seems fine", "confirm": "on"}).status_code == 403
    client.post(convo(minor) + "resume/")
    minor.refresh_from_db()
    assert (minor.safety_flag, minor.state) == (True, "handed_off")
    client.force_login(boss)
    assert client.post(convo(minor) + "clear_flag/", {"reason": "checked ID: 24"}).status_code == 400  # no confirm
    assert Fan.objects.get(pk=minor.pk).safety_flag is True
    client.post(convo(minor) + "clear_flag/", {"reason": "checked the ID with the platform: 24", "confirm": "on"})
    assert Fan.objects.get(pk=minor.pk).safety_flag is False
    assert SafetyClearance.objects.get(fan=minor).by_user == boss
    audit = client.get("/admin/reports/audit/").content.decode()
    assert "cleared the safety flag of fan Kid" in audit and "checked the ID with the platform: 24" in audit


def test_a_chatter_gives_a_sale_handoff_back_to_the_bot(client, demo, maria):
    fan = FanFactory(creator=demo, state="handed_off", handoff_reason="needs a human: video call request")
    client.force_login(maria)
    client.post(convo(fan) + "resume/")
    assert Fan.objects.get(pk=fan.pk).state == "engaged"


# --- drafts at volume ------------------------------------------------------------------------------


def test_alike_drafts_approved_at_once_are_each_sent_once(client, demo, boss, platform):
    fans = [FanFactory(creator=demo, name=n) for n in ("Ana", "Ben", "Cy")]
    drafts = [Draft.objects.create(creator=demo, fan=f, action="text", text=f"hiii {f.name}! welcome 💕") for f in fans]
    Draft.objects.create(creator=demo, fan=FanFactory(creator=demo, name="Dee"), action="text", text="other words")
    client.force_login(boss)
    page = client.get(f"/admin/salesbot/draft/{drafts[0].pk}/review/").content.decode()
    assert "Approve this and 2 more like it" in page
    client.post(f"/admin/salesbot/draft/{drafts[0].pk}/review/", {"op": "approve_alike"})
    client.post(f"/admin/salesbot/draft/{drafts[0].pk}/review/", {"op": "approve_alike"})  # a second click
    assert sorted(s["text"] for s in platform.sends) == [
        "hiii Ana! welcome 💕",
        "hiii Ben! welcome 💕",
        "hiii Cy! welcome 💕",
    ]
    assert Draft.objects.filter(status="open").count() == 1


def test_back_to_autopilot_leaves_no_draft_open_and_the_bot_decides_afresh(demo, boss):
    demo.autonomy = "approve"
    demo.save()
    fan = FanFactory(creator=demo)
    wrote(fan, "hey")
    Draft.objects.create(creator=demo, fan=fan, action="text", text="hi there")
    assert autonomy.set_creator_mode(demo, "autopilot", boss) == 1
    assert not Draft.objects.filter(status="open").exists()
    assert QueueItem.objects.filter(fan=fan, status="pending", reason="message").exists()


# --- ledgers and the way in ------------------------------------------------------------------------


def test_nobody_types_a_fans_spend_an_outcome_or_an_action(client, demo, boss):
    fan = FanFactory(creator=demo, total_spent=Decimal("10"))
    action = Action.objects.create(creator=demo, fan=fan, action="text", status="sent")
    client.force_login(boss)
    for url in (
        "/admin/learning/action/add/",
        "/admin/learning/outcome/add/",
        "/admin/fans/message/add/",
        "/admin/salesbot/webhookevent/add/",
    ):
        assert client.get(url).status_code == 403, url
    assert 'name="status"' not in client.get(f"/admin/learning/action/{action.pk}/change/").content.decode()
    client.post(f"/admin/fans/fan/{fan.pk}/change/", {"name": "x", "notes": "", "autonomy": "", "total_spent": "999"})
    assert Fan.objects.get(pk=fan.pk).total_spent == Decimal("10")
    listing = client.get("/admin/fans/fan/").content.decode()
    assert f'href="/admin/inbox/{fan.pk}/" class="open-conversation"' in listing


def test_home_page_names_the_product_counts_the_work_and_links_the_reports(client, demo, maria, minor):
    client.force_login(maria)
    body = client.get("/admin/").content.decode()
    assert "salesbot" in body and "Django administration" not in body
    assert 'id="card-awaiting"' in body and 'href="/admin/reports/performance/"' in body
    assert 'href="/admin/reports/audit/"' in body and 'href="/admin/inbox/"' in body
    assert client.get("/admin/inbox/").status_code == 200


def test_a_dead_account_session_is_shown_to_staff_on_home_and_in_the_inbox(client, demo, maria):
    from models_registry.models import Creator

    Creator.objects.filter(pk=demo.pk).update(account_health="session_expired", account_health_since=timezone.now())
    client.force_login(maria)
    for url in ("/admin/", INBOX):
        body = client.get(url).content.decode()
        assert 'class="account-banner"' in body and "session expired: reconnect the account" in body, url
    Creator.objects.filter(pk=demo.pk).update(account_health="ok")
    assert 'class="account-banner"' not in client.get(INBOX).content.decode()

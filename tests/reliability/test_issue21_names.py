"""Issue 21: restricted words hidden in display names with Unicode look-alikes never reach the fan."""

import pytest

from salesbot.pipeline import engine, rules
from salesbot.pipeline.contact import message_block, restricted_words_in
from tests.factories import FanFactory

DISGUISED = [
    "ｓｎａｐｃｈａｔ",  # fullwidth
    "SNAPCHAT",
    "\u0455napchat",  # Cyrillic dze
    "snаpсhаt",  # Cyrillic a and es
    "snap\u200bchat",  # zero-width space
    "snap\u00adchat",  # soft hyphen
    "snapchat_king",  # inside a word
    "xXsnapchatXx",
    "snap.chat",
    "snäpchat",  # an accent
]


@pytest.mark.parametrize("name", DISGUISED)
def test_a_disguised_restricted_word_in_a_name_is_never_greeted(demo, name):
    assert "snapchat" in demo.restricted_words
    fan = FanFactory(creator=demo, fan_id=21200, name=name, state="new")
    ctx = engine.build_context(demo, fan, reason="welcome")
    assert rules.display_name(ctx) == "babe"
    assert restricted_words_in(demo, name, name=True) == ["snapchat"]


@pytest.mark.parametrize("name", DISGUISED[:6])
def test_the_last_gate_reads_the_folded_text(demo, name):
    fan = FanFactory(creator=demo, fan_id=21201, state="new")
    why = message_block(demo, fan, "text", text=f"hiii {name}! welcome")
    assert why and "restricted" in why


@pytest.mark.parametrize("name", ["Snap", "Chad", "Zoë", "José", "李雷", "Sam the snapper"])
def test_ordinary_names_are_still_greeted(demo, name):
    fan = FanFactory(creator=demo, fan_id=21202, name=name, state="new")
    ctx = engine.build_context(demo, fan, reason="welcome")
    assert rules.display_name(ctx) == name


def test_the_playbooks_restricted_words_are_enforced(db):
    import json

    from models_registry.services import onboard_creator
    from tests.conftest import ROOT

    content_map = json.loads((ROOT / "demo" / "content-map.json").read_text())
    playbook = (ROOT / "demo" / "playbook.md").read_text()
    playbook = playbook.replace(
        "Avoid the words listed in the content map's restricted_words.",
        "Never write:\n- whatsapp\n- `telegram`, venmo\n- cashapp — never ask for money",
    )
    creator = onboard_creator(content_map, playbook, slug="pb14")
    assert {"whatsapp", "telegram", "venmo", "cashapp", "snapchat"} <= set(creator.restricted_words)
    fan = FanFactory(creator=creator, fan_id=21203, state="new")
    assert "restricted" in message_block(creator, fan, "text", text="add me on Telegram babe")
    assert restricted_words_in(creator, "cashapp_queen", name=True) == ["cashapp"]

"""Onboarding takes the answer kinds (price, offer_yes, offer_no, more, about_me, compliment, hello) and
checks their lines: a known {placeholder} only, and a price answer that says {price}."""

import json
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError

from models_registry.forms import ResponseTemplateForm
from models_registry.models import ResponseTemplate
from models_registry.services import onboard_creator, validate_content_map

DEMO = Path(__file__).resolve().parents[2] / "demo"


def demo_map(**templates) -> dict:
    data = json.loads((DEMO / "content-map.json").read_text(encoding="utf-8"))
    data["templates"].update(templates)
    return data


def test_a_map_with_answer_kinds_onboards_them(db):
    answers = {
        "price": {"variants": ["it's ${price} babe 🙈", "${price} and it's yours {name} 😘"]},
        "offer_yes": {"variants": ["it's waiting for you 😘"]},
        "offer_no": {"variants": ["no worries 💕"]},
        "more": {"variants": ["greedy 😏"]},
        "about_me": {"variants": ["i love the beach 🌊"]},
        "compliment": {"variants": ["stop it 🙈"]},
        "hello": {"variants": ["heyy 😊"]},
    }
    creator = onboard_creator(demo_map(**answers), (DEMO / "playbook.md").read_text(encoding="utf-8"))
    kinds = set(creator.templates.values_list("kind", flat=True))
    assert set(answers) <= kinds and len(kinds) == 15


@pytest.mark.parametrize(
    "templates,problem",
    [
        ({"price": {"variants": ["so worth it babe 🙈"]}}, "templates.price: variants[0]: must say {price}."),
        (
            {"hello": {"variants": ["hey {fan_name}"]}},
            "templates.hello: variants[0]: unknown placeholder(s) {fan_name} (allowed: {name}).",
        ),
        (
            {"compliment": {"variants": ["ok", "thanks {price}"]}},
            "templates.compliment: variants[1]: unknown placeholder(s) {price} (allowed: {name}).",
        ),
        ({"more": {"variants": ["more {"]}}, "templates.more: variants[0]: broken braces"),
        ({"offer_no": {"variants": "no worries"}}, "templates.offer_no: needs a non-empty 'variants' list of texts."),
    ],
)
def test_onboarding_names_a_broken_answer_line(db, templates, problem):
    errors = validate_content_map(demo_map(**templates))
    assert any(e.startswith(problem) for e in errors), errors
    with pytest.raises(ValidationError):
        onboard_creator(demo_map(**templates), "## §1 Voice\nwarm")


def test_the_admin_template_form_checks_placeholders_too(db):
    creator = onboard_creator(demo_map(), (DEMO / "playbook.md").read_text(encoding="utf-8"))
    form = ResponseTemplateForm(
        data={
            "creator": creator.pk,
            "kind": ResponseTemplate.Kind.PRICE,
            "variants": '["just for you 🙈"]',
            "content_key": "",
            "hook": "",
        }
    )
    assert not form.is_valid() and form.errors["variants"] == ["variants[0]: must say {price}."]
    form = ResponseTemplateForm(
        data={
            "creator": creator.pk,
            "kind": ResponseTemplate.Kind.PRICE,
            "variants": '["${price} for you 🙈"]',
            "content_key": "",
            "hook": "",
        }
    )
    assert form.is_valid(), form.errors


def test_the_expired_kind_onboards_and_its_lines_are_checked_like_the_others(db):
    playbook = (DEMO / "playbook.md").read_text(encoding="utf-8")
    creator = onboard_creator(demo_map(expired={"variants": ["come back {name} 🥺"]}), playbook)
    assert creator.templates.get(kind="expired").variants == ["come back {name} 🥺"]
    errors = validate_content_map(demo_map(expired={"variants": ["only ${price} to come back"]}))
    assert errors == ["templates.expired: variants[0]: unknown placeholder(s) {price} (allowed: {name})."]
    form = ResponseTemplateForm(
        data={
            "creator": creator.pk,
            "kind": ResponseTemplate.Kind.EXPIRED,
            "variants": '["miss you {nam}"]',
            "content_key": "",
            "hook": "",
        }
    )
    assert not form.is_valid() and "unknown placeholder" in form.errors["variants"][0]

"""Editing a creator's vault, playbook and templates in admin keeps them consistent."""

import re

import pytest

from models_registry.models import PlaybookSection, ResponseTemplate, VaultItem


def item(demo, key):
    return VaultItem.objects.get(creator=demo, content_key=key)


def test_deleting_an_item_a_template_sends_is_refused(admin_client, demo):
    selfie = item(demo, "gfe_selfie")  # the greeting template sends it
    r = admin_client.get(f"/admin/models_registry/vaultitem/{selfie.pk}/delete/", follow=True)
    assert "Vault item &#x27;gfe_selfie&#x27; is sent by the greeting template(s) of demo" in r.content.decode()
    admin_client.post(f"/admin/models_registry/vaultitem/{selfie.pk}/delete/", {"post": "yes"})
    assert VaultItem.objects.filter(pk=selfie.pk).exists()


def test_deleting_an_unused_item_works(admin_client, demo):
    video = item(demo, "video_long")
    r = admin_client.post(f"/admin/models_registry/vaultitem/{video.pk}/delete/", {"post": "yes"})
    assert r.status_code == 302 and not VaultItem.objects.filter(pk=video.pk).exists()


def test_bulk_delete_keeps_items_templates_send(admin_client, demo):
    selfie, video, combo7 = item(demo, "gfe_selfie"), item(demo, "video_long"), item(demo, "combo7")
    data = {"action": "delete_selected", "_selected_action": [selfie.pk, video.pk, combo7.pk]}
    r = admin_client.post("/admin/models_registry/vaultitem/", data)
    body = r.content.decode()
    assert "sent by the greeting template(s)" in body and "Are you sure" in body
    admin_client.post("/admin/models_registry/vaultitem/", {**data, "post": "yes"})
    assert set(
        VaultItem.objects.filter(pk__in=[selfie.pk, video.pk, combo7.pk]).values_list("content_key", flat=True)
    ) == {"gfe_selfie"}


def test_bulk_delete_of_only_needed_items_deletes_nothing(admin_client, demo):
    selfie = item(demo, "gfe_selfie")
    r = admin_client.post(
        "/admin/models_registry/vaultitem/",
        {"action": "delete_selected", "_selected_action": [selfie.pk], "post": "yes"},
        follow=True,
    )
    assert "sent by the greeting template(s)" in r.content.decode()
    assert VaultItem.objects.filter(pk=selfie.pk).exists()


def vault_form(obj, **changes):
    data = {
        "creator": obj.creator_id,
        "content_key": obj.content_key,
        "kind": obj.kind,
        "media_ids": "[101]",
        "default_price": "" if obj.default_price is None else str(obj.default_price),
        "ladder_tier": obj.ladder_tier,
        "description": obj.description,
    }
    return {**data, **changes}


def test_renaming_a_used_key_is_refused_and_prices_stay_in_bounds(admin_client, demo):
    selfie = item(demo, "gfe_selfie")
    url = f"/admin/models_registry/vaultitem/{selfie.pk}/change/"
    r = admin_client.post(url, vault_form(selfie, content_key="selfie_v2"))
    assert r.status_code == 200
    assert "&#x27;gfe_selfie&#x27; is sent by the greeting template(s)" in r.content.decode()
    combo1 = item(demo, "combo1")
    r = admin_client.post(
        f"/admin/models_registry/vaultitem/{combo1.pk}/change/", vault_form(combo1, default_price="500")
    )
    assert "Price must lie within the creator&#x27;s bounds (8.00–60.00)." in r.content.decode()
    r = admin_client.post(
        f"/admin/models_registry/vaultitem/{combo1.pk}/change/",
        vault_form(combo1, content_key="combo1_new", default_price="14"),
    )
    assert r.status_code == 302
    assert item(demo, "combo1_new").default_price == 14


def creator_page_data(admin_client, demo, delete=(), **changes):
    """What the creator change page posts back, as a browser would, with `changes` made and the
    vault items named in `delete` ticked for deletion."""
    r = admin_client.get(f"/admin/models_registry/creator/{demo.pk}/change/")
    form = r.context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k not in ("api_key", "webhook_secret")}
    data.update({"excluded_fan_ids": "[]", "restricted_words": "[]", "signal_keywords": "{}"})
    formset = r.context["inline_admin_formsets"][0].formset
    prefix = formset.prefix
    data.update(
        {
            f"{prefix}-TOTAL_FORMS": len(formset.forms),
            f"{prefix}-INITIAL_FORMS": len(formset.forms),
            f"{prefix}-MIN_NUM_FORMS": 0,
            f"{prefix}-MAX_NUM_FORMS": 1000,
        }
    )
    for i, f in enumerate(formset.forms):
        v = f.instance
        data.update(
            {
                f"{prefix}-{i}-id": v.pk,
                f"{prefix}-{i}-creator": demo.pk,
                f"{prefix}-{i}-content_key": v.content_key,
                f"{prefix}-{i}-kind": v.kind,
                f"{prefix}-{i}-media_ids": str(v.media_ids),
                f"{prefix}-{i}-ladder_tier": v.ladder_tier,
                f"{prefix}-{i}-default_price": "" if v.default_price is None else v.default_price,
                f"{prefix}-{i}-description": v.description,
            }
        )
        if v.content_key in delete:
            data[f"{prefix}-{i}-DELETE"] = "on"
    return {**data, **changes}


def test_creator_page_refuses_deleting_a_used_item_inline(admin_client, demo):
    data = creator_page_data(admin_client, demo, delete=["gfe_selfie"])
    r = admin_client.post(f"/admin/models_registry/creator/{demo.pk}/change/", data)
    assert r.status_code == 200, "the page should come back with the refusal"
    assert "sent by the greeting template(s)" in r.content.decode()
    assert item(demo, "gfe_selfie")


def test_narrowing_the_price_bounds_below_a_vault_price_is_refused(admin_client, demo):
    dearest = VaultItem.objects.filter(creator=demo, default_price__isnull=False).order_by("-default_price")[0]
    ceiling = dearest.default_price - 1
    data = creator_page_data(admin_client, demo, ppv_max_price=str(ceiling), entry_price=str(demo.ppv_min_price))
    r = admin_client.post(f"/admin/models_registry/creator/{demo.pk}/change/", data)
    assert r.status_code == 200
    assert re.search(
        rf"Price must lie within the creator&#x27;s bounds \(8(\.00)?–{ceiling:.2f}\)\.", r.content.decode()
    )
    demo.refresh_from_db()
    assert demo.ppv_max_price != ceiling


def test_the_creator_page_never_shows_the_keys(admin_client, demo):
    demo.api_key = "sk-live-0123456789abcdef"
    demo.save()
    body = admin_client.get(f"/admin/models_registry/creator/{demo.pk}/change/").content.decode()
    assert "0123456789abcdef" not in body and demo.webhook_secret not in body
    r = admin_client.post(
        f"/admin/models_registry/creator/{demo.pk}/change/",
        creator_page_data(admin_client, demo, display_name="Demo Renamed"),
    )
    assert r.status_code == 302
    demo.refresh_from_db()
    assert (demo.display_name, demo.api_key) == ("Demo Renamed", "sk-live-0123456789abcdef")  # empty keeps it


def section_form(demo, **changes):
    return {
        "creator": demo.pk,
        "number": 20,
        "title": "Extra",
        "body": "Be kind.",
        "serves_states": '["buyer"]',
        **changes,
    }


@pytest.mark.parametrize(
    "changes,message",
    [
        ({"serves_states": '["buyer", "royalty"]'}, "Unknown fan state(s): royalty."),
        ({"serves_states": '"buyer"'}, "Give a JSON list of fan states"),
        ({"body": "   "}, "This field is required."),
        ({"number": 1}, "already exists"),
    ],
)
def test_playbook_section_validation(admin_client, demo, changes, message):
    r = admin_client.post("/admin/models_registry/playbooksection/add/", section_form(demo, **changes))
    assert r.status_code == 200 and message in r.content.decode()


def test_playbook_section_edit_saves(admin_client, demo):
    s = PlaybookSection.objects.get(creator=demo, number=7)
    r = admin_client.post(
        f"/admin/models_registry/playbooksection/{s.pk}/change/",
        section_form(demo, number=7, title="Pricing", body="Entry at $18.", serves_states='["pitched"]'),
    )
    assert r.status_code == 302
    s.refresh_from_db()
    assert (s.body, s.serves_states) == ("Entry at $18.", ["pitched"])


def test_template_must_send_an_item_of_the_vault(admin_client, demo):
    t = ResponseTemplate.objects.get(creator=demo, kind="greeting")
    url = f"/admin/models_registry/responsetemplate/{t.pk}/change/"
    data = {"creator": demo.pk, "kind": "greeting", "variants": '["hey"]', "content_key": "nope", "hook": ""}
    assert "&#x27;nope&#x27; is not in demo&#x27;s vault." in admin_client.post(url, data).content.decode()
    assert (
        "non-empty JSON list of texts"
        in admin_client.post(url, {**data, "variants": '["  "]', "content_key": ""}).content.decode()
    )
    assert admin_client.post(url, {**data, "content_key": "tease_pic"}).status_code == 302


def test_creator_page_groups_every_editable_field(admin_client, demo):
    r = admin_client.get(f"/admin/models_registry/creator/{demo.pk}/change/")
    grouped = [f for fieldset in r.context["adminform"] for line in fieldset for f in line]
    names = {f.field["name"] if isinstance(f.field, dict) else f.field.name for f in grouped}
    editable = {
        f.name for f in demo._meta.get_fields() if getattr(f, "editable", False) and f.concrete and not f.auto_created
    }
    assert names == editable
    assert "Other" not in [fs.name for fs in r.context["adminform"]]  # a new field would land there, visibly


def test_the_creator_page_offers_batched_follow_ups_and_says_what_they_cost(admin_client, demo):
    page = admin_client.get(f"/admin/models_registry/creator/{demo.pk}/change/").content.decode()
    assert 'name="llm_batch_followups"' in page
    assert "half the model's price" in page and "the batch's processing time" in page

"""Staff read and correct what the bot remembers about a fan, on the fan's timeline page."""

from django.urls import reverse

from fans import facts


def timeline_url(fan):
    return reverse("admin:fans_fan_timeline", args=[fan.pk])


def posted_back(response) -> dict:
    """The facts form as the browser posts it when nothing is touched."""
    formset = response.context["facts_form"]
    data = {"op": "facts"}
    data.update({f"facts-{k}": v for k, v in formset.management_form.initial.items()})
    for form in formset.forms:
        data[form.add_prefix("id")] = form.instance.pk or ""
        data[form.add_prefix("text")] = form.instance.text if form.instance.pk else ""
    return data


def test_the_timeline_shows_what_the_bot_remembers(admin_client, fan):
    facts.remember(fan, "dog's name: Biscuit", key="pet:dog", source="rules")
    facts.remember(fan, "prefers evenings", source="staff")
    body = admin_client.get(timeline_url(fan)).content.decode()
    assert "What the bot remembers" in body
    assert "dog&#x27;s name: Biscuit" in body and "from the fan&#x27;s messages" in body
    assert "prefers evenings" in body and "by staff" in body
    assert body.index("prefers evenings") < body.index("Biscuit")  # staff's facts first


def test_staff_change_forget_and_add_facts(admin_client, fan):
    job = facts.remember(fan, "works as a nurse", key="job", source="rules")
    dog = facts.remember(fan, "has a dog", source="llm")
    data = posted_back(admin_client.get(timeline_url(fan)))
    rows = {data[k]: k.rsplit("-", 1)[0] for k in data if k.endswith("-id") and data[k]}
    data[f"{rows[job.pk]}-text"] = "works as a nurse at St Mary's"
    data[f"{rows[dog.pk]}-DELETE"] = "on"
    data["facts-2-text"] = "asked about a custom; prefers evenings"
    r = admin_client.post(timeline_url(fan), data, follow=True)
    assert "Facts saved" in r.content.decode()
    assert {(f.text, f.source) for f in fan.facts.all()} == {
        ("works as a nurse at St Mary's", "staff"),
        ("asked about a custom; prefers evenings", "staff"),
    }


def test_emptying_a_fact_forgets_it(admin_client, fan):
    dog = facts.remember(fan, "has a dog", source="llm")
    data = posted_back(admin_client.get(timeline_url(fan)))
    data["facts-0-text"] = ""
    assert data["facts-0-id"] == dog.pk
    admin_client.post(timeline_url(fan), data)
    assert not fan.facts.exists()


def test_a_fact_too_long_is_refused_and_nothing_changes(admin_client, fan):
    facts.remember(fan, "has a dog", source="llm")
    data = posted_back(admin_client.get(timeline_url(fan)))
    data["facts-0-text"] = "x" * 200
    r = admin_client.post(timeline_url(fan), data)
    assert r.status_code == 200 and "at most 120 characters" in r.content.decode()
    assert facts.for_prompt(fan) == ["has a dog"]


def test_view_only_staff_see_the_facts_but_cannot_edit(client, django_user_model, fan):
    from django.contrib.auth.models import Permission

    facts.remember(fan, "has a dog", source="llm")
    from tests.team_helpers import chatter

    user = chatter("viewer", fan.creator, password="pw")  # the fan's creator in scope ...
    user.groups.clear()  # ... but only the view permission
    user.user_permissions.add(Permission.objects.get(codename="view_fan"))
    client.force_login(user)
    body = client.get(timeline_url(fan)).content.decode()
    assert "has a dog" in body and 'id="facts-form"' not in body
    assert client.post(timeline_url(fan), {"op": "facts"}).status_code == 403

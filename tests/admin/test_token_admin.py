"""Staff API tokens are credentials: the admin lists them masked and shows a new one only once."""

from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token


def test_token_list_never_shows_a_key_in_clear(admin_client, db):
    ops = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    token = Token.objects.create(user=ops)
    page = admin_client.get("/admin/salesbot/stafftoken/").content.decode()
    assert "ops" in page and token.key[-4:] in page  # recognisable by its last characters
    assert token.key not in page


def test_a_new_token_is_shown_once_when_created(admin_client, db):
    ops = get_user_model().objects.create_user("ops2", password="x", is_staff=True)
    r = admin_client.post("/admin/salesbot/stafftoken/add/", {"user": ops.pk}, follow=True)
    key = Token.objects.get(user=ops).key
    assert key in r.content.decode()  # the one time staff can copy it
    assert key not in admin_client.get("/admin/salesbot/stafftoken/").content.decode()


def test_the_key_never_shows_in_recent_actions_titles_history_or_messages(admin_client, db):
    """The leak: admin named a token by its key in "recent actions", the change/delete/history page titles
    and the "was added" message; only the one-time WARNING may carry it."""
    ops = get_user_model().objects.create_user("ops3", password="x", is_staff=True)
    r = admin_client.post("/admin/salesbot/stafftoken/add/", {"user": ops.pk}, follow=True)
    key = Token.objects.get(user=ops).key
    shown_once = [str(m) for m in r.context["messages"] if key in str(m)]
    assert len(shown_once) == 1 and "not shown again" in shown_once[0]
    for page in [
        "/admin/",
        f"/admin/salesbot/stafftoken/{ops.pk}/change/",
        f"/admin/salesbot/stafftoken/{ops.pk}/history/",
        f"/admin/salesbot/stafftoken/{ops.pk}/delete/",
    ]:
        body = admin_client.get(page).content.decode()
        assert key not in body, page
        assert key[-4:] in body or page == "/admin/", page
    r = admin_client.post(f"/admin/salesbot/stafftoken/{ops.pk}/delete/", {"post": "yes"}, follow=True)
    assert not Token.objects.filter(user=ops).exists()
    assert key not in r.content.decode()
    assert key not in admin_client.get("/admin/").content.decode()


def test_old_log_entries_are_masked_by_the_migration(db):
    from importlib import import_module

    from django.apps import apps
    from django.contrib.admin.models import ADDITION, LogEntry
    from django.contrib.contenttypes.models import ContentType

    admin_user = get_user_model().objects.create_superuser("root", "r@x.test", "x")
    key = "a" * 36 + "beef"
    entry = LogEntry.objects.create(
        user=admin_user,
        content_type=ContentType.objects.get(app_label="authtoken", model="tokenproxy"),
        object_id="1",
        object_repr=key,
        action_flag=ADDITION,
    )
    import_module("salesbot.migrations.0006_mask_token_log_entries").mask_logged_keys(apps, None)
    entry.refresh_from_db()
    assert entry.object_repr == "••••beef"

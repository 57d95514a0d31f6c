"""Staff API tokens are credentials: the admin lists them masked and shows a new one only once."""
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token


def test_token_list_never_shows_a_key_in_clear(admin_client, db):
    ops = get_user_model().objects.create_user("ops", password="x", is_staff=True)
    token = Token.objects.create(user=ops)
    page = admin_client.get("/admin/authtoken/tokenproxy/").content.decode()
    assert "ops" in page and token.key[-4:] in page       # recognisable by its last characters
    assert token.key not in page


def test_a_new_token_is_shown_once_when_created(admin_client, db):
    ops = get_user_model().objects.create_user("ops2", password="x", is_staff=True)
    r = admin_client.post("/admin/authtoken/tokenproxy/add/", {"user": ops.pk}, follow=True)
    key = Token.objects.get(user=ops).key
    assert key in r.content.decode()                      # the one time staff can copy it
    assert key not in admin_client.get("/admin/authtoken/tokenproxy/").content.decode()

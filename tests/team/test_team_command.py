from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

from team import scope
from team.models import TeamMember
from tests.factories import CreatorFactory


def run(*args) -> str:
    out = StringIO()
    call_command("team", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_team_add_chatter_with_token_prints_it_once(db):
    a, b = CreatorFactory(slug="a"), CreatorFactory(slug="b")
    out = run("add", "lea", "--role", "chatter", "--creator", "a", "--token")
    user = get_user_model().objects.get(username="lea")
    key = Token.objects.get(user=user).key
    assert key in out and user.is_staff
    assert user.has_perm("fans.change_fan") and not user.has_perm("models_registry.change_creator")
    assert scope.creator_ids(user) == {a.pk}
    listing = run("list")
    assert "lea\tchatter\ta" in listing and key not in listing
    assert b.pk not in scope.creator_ids(get_user_model().objects.get(username="lea"))


def test_team_add_manager_sees_every_creator(db):
    CreatorFactory(slug="a")
    run("add", "max", "--role", "manager")
    user = get_user_model().objects.get(username="max")
    assert scope.creator_ids(user) is scope.ALL and user.has_perm("models_registry.change_creator")
    assert TeamMember.objects.get(user=user).role == "manager"


def test_unknown_creator_is_refused(db):
    with pytest.raises(CommandError):
        run("add", "x", "--role", "chatter", "--creator", "nope")

"""Team members for tests, made the way `manage.py team add` makes them."""
from team.models import TeamMember
from team.services import add_member


def manager(username="ops", password="x"):
    return add_member(username, TeamMember.Role.MANAGER, password=password)[0].user


def chatter(username, *creators, password="x"):
    return add_member(username, TeamMember.Role.CHATTER, creators, password=password)[0].user

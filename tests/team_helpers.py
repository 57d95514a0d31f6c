"""Team members for tests, made the way `manage.py team add` makes them."""

from team.models import TeamMember
from team.services import add_member


def manager(username="ops", password="x"):
    return add_member(username, TeamMember.Role.MANAGER, password=password)[0].user


def chatter(username, *creators, password="x"):
    return add_member(username, TeamMember.Role.CHATTER, creators, password=password)[0].user


class FakeClient:
    """Stands in for a creator's provider client: records every send, answers with a message id; an
    Idempotency-Key seen before returns the first answer (as the platforms do)."""

    def __init__(self):
        self.sends = []
        self._by_key = {}

    def send_message(self, fan_id, text, media_ids=(), price=0, *, idempotency_key):
        from salesbot.providers.base import SentMessage

        key = str(idempotency_key)
        if key not in self._by_key:
            self.sends.append({"fan_id": fan_id, "text": text, "media": list(media_ids), "price": price})
            self._by_key[key] = SentMessage(id=900000 + len(self.sends), created_at="")
        return self._by_key[key]


def fake_platform_client(monkeypatch) -> FakeClient:
    client = FakeClient()
    monkeypatch.setattr("salesbot.providers.client_for", lambda creator: client)
    return client

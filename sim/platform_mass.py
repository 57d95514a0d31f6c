"""The fake platform's mass messaging, user lists and message engagement, as OnlyFansAPI.com's SDK has them
(../shared/providers/onlyfansapi-sdk-check.md §7): a mass message to `userIds` and `userLists` minus
`excludedLists`, price 0 or 3–200 with media, `scheduledDate` (UTC) queues it until then, an Idempotency-Key
replays the first answer, unsend answers sentCount / viewedCount / canUnsend / unsendSeconds; user lists to
create and fill; per message its buyers and the top message's counts. Standard library only."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sim.platform_dialects import CREATOR_USER_ID, iso_now

# Lists every account has (the mintlify update-mass-message page); "fans" is everyone who ever wrote or was sent.
BUILT_IN_LISTS = ("fans", "recent", "following", "rebill_off", "tagged")
UNSEND_SECONDS = 86400


def _unprocessable(field, message):
    from sim.platform_state import ApiError

    return ApiError(
        422, "validation failed", body={"message": "The given data was invalid.", "errors": {field: [message]}}
    )


def _ids(body, field) -> list:
    value = body.get(field) or []
    if not isinstance(value, list):
        raise _unprocessable(field, f"The {field} must be an array.")
    return value


class MassMessaging:
    """Mixed into FakePlatform: uses its lock, ids, chats, dialect, rate rules and webhooks."""

    def reset_mass(self):
        self.mass_messages: list[dict] = []
        self.user_lists: dict[str, dict] = {}
        self.mass_by_key: dict[str, dict] = {}
        self.copies: dict[int, tuple[int, int]] = {}  # copy message id -> (mass id, fan id)

    # -- user lists ------------------------------------------------------------------------------------
    def create_user_list(self, body) -> dict:
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.strip() or len(name) > 64:
            raise _unprocessable("name", "The name field is required (at most 64 characters).")
        with self.lock:
            list_id = self._new_id()
            self.user_lists[str(list_id)] = {"id": list_id, "name": name, "users": []}
        return {"data": {"id": list_id, "name": name, "usersCount": 0}}

    def user_list_payload(self, item) -> dict:
        return {"id": str(item["id"]), "name": item["name"], "usersCount": len(item["users"])}

    def the_list(self, list_id: str) -> dict:
        from sim.platform_state import ApiError

        found = self.user_lists.get(str(list_id))
        if found is None:
            raise ApiError(404, f"no user list {list_id}")
        return found

    def add_to_list(self, list_id: str, body) -> dict:
        ids = _ids(body if isinstance(body, dict) else {}, "ids")
        if not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
            raise _unprocessable("ids", "The ids must be user ids (integers).")
        with self.lock:
            item = self.the_list(list_id)
            item["users"] += [i for i in dict.fromkeys(ids) if i not in set(item["users"])]
            return {"data": self.user_list_payload(item)}

    def delete_user_list(self, list_id: str) -> dict:
        with self.lock:
            self.the_list(list_id)
            del self.user_lists[str(list_id)]
        return {"data": {"success": True}}

    # -- mass messages ---------------------------------------------------------------------------------
    def _audience(self, body) -> list[int]:
        users = _ids(body, "userIds")
        if not all(isinstance(u, int) and not isinstance(u, bool) for u in users):
            raise _unprocessable("userIds", "The userIds must be user ids (integers).")
        everyone = set(self.chats) | set(self.names)
        chosen = list(users)
        for list_id in _ids(body, "userLists"):
            chosen += sorted(everyone) if str(list_id) in BUILT_IN_LISTS else self.the_list(list_id)["users"]
        excluded = set()
        for list_id in _ids(body, "excludedLists"):
            excluded |= set(everyone) if str(list_id) in BUILT_IN_LISTS else set(self.the_list(list_id)["users"])
        return [u for u in dict.fromkeys(chosen) if u not in excluded]

    def mass_send(self, body, idem_key: str | None = None) -> dict:
        """`POST /{account}/mass-messaging`: validated as the SDK's MassMessagingSendParams; now, or queued
        until `scheduledDate`; each recipient's copy echoed as messages.sent with isFromQueue and queueId."""
        if not isinstance(body, dict) or not isinstance(body.get("text"), str):
            raise _unprocessable("text", "The text field is required.")
        with self.lock:
            if idem_key and idem_key in self.mass_by_key:
                return self._answer(self.mass_by_key[idem_key])
            self._take_rate(body)  # price rules, banned words, the per-minute limit
            users = self._audience(body)
            when = _when(body.get("scheduledDate"))
            mass = {
                "id": self._new_id(),
                "text": body["text"],
                "price": body.get("price", 0) or 0,
                "mediaFiles": list(body.get("mediaFiles") or []),
                "userIds": users,
                "userLists": _ids(body, "userLists"),
                "excludedLists": _ids(body, "excludedLists"),
                "scheduledDate": body.get("scheduledDate"),
                "date": iso_now(),
                "sent": {},
                "viewed": set(),
                "buyers": {},
                "isCanceled": False,
                "isDone": False,
            }
            self.mass_messages.append(mass)
            if idem_key:
                self.mass_by_key[idem_key] = mass
            delay = (when - datetime.now(UTC)).total_seconds() if when else 0
        if delay > 0:
            timer = threading.Timer(delay, self._publish, args=(mass,))
            timer.daemon = True
            timer.start()
        else:
            self._publish(mass)
        return self._answer(mass)

    def _publish(self, mass) -> None:
        echoes = []
        with self.lock:
            if mass["isCanceled"] or mass["isDone"]:
                return
            for fan_id in mass["userIds"]:
                msg = {
                    "id": self._new_id(),
                    "fan_id": fan_id,
                    "text": mass["text"],
                    "price": mass["price"],
                    "mediaFiles": mass["mediaFiles"],
                    "createdAt": iso_now(),
                    "queue_id": mass["id"],
                }
                mass["sent"][fan_id] = msg["id"]
                self.copies[msg["id"]] = (mass["id"], fan_id)
                self.chats.setdefault(fan_id, []).append(
                    {
                        "id": msg["id"],
                        "text": msg["text"],
                        "fromUser": {"id": CREATOR_USER_ID},
                        "createdAt": msg["createdAt"],
                        "price": mass["price"],
                        "isOpened": not mass["price"],
                    }
                )
                echoes += self.dialect.account_sent(fan_id, msg)
            mass["isDone"] = True
            self.stats["mass_sent"] = self.stats.get("mass_sent", 0) + len(mass["userIds"])
        self.log(f"mass  message {mass['id']} to {len(mass['userIds'])} fans “{mass['text'][:40]}”")
        if echoes:
            threading.Thread(target=self.tell, args=(echoes,), daemon=True).start()

    def _answer(self, mass) -> dict:
        with self.lock:
            total = len(mass["userIds"])
            return {
                "data": {
                    "id": mass["id"],
                    "date": mass["date"],
                    "isDone": mass["isDone"],
                    "isReady": not mass["isCanceled"],
                    "pending": 0 if mass["isDone"] else total,
                    "total": total,
                    "canUnsend": not mass["isCanceled"],
                    "unsendSeconds": UNSEND_SECONDS,
                    "hasError": False,
                    "isCanceled": mass["isCanceled"],
                }
            }

    def the_mass(self, mass_id: int) -> dict:
        from sim.platform_state import ApiError

        found = next((m for m in self.mass_messages if m["id"] == mass_id), None)
        if found is None:
            raise ApiError(404, f"no mass message {mass_id}")
        return found

    def mass_list(self) -> dict:
        with self.lock:
            return {"data": [self._answer(m)["data"] for m in self.mass_messages]}

    def mass_retrieve(self, mass_id: int) -> dict:
        with self.lock:
            m = self.the_mass(mass_id)
            return {
                "data": {
                    "queue": {
                        "id": m["id"],
                        "sentCount": len(m["sent"]),
                        "viewedCount": len(m["viewed"]),
                        "canUnsend": not m["isCanceled"],
                        "unsendSeconds": UNSEND_SECONDS,
                        "text": m["text"],
                        "isFree": not m["price"],
                        "price": str(m["price"]),
                        "isCanceled": m["isCanceled"],
                    },
                    "success": True,
                }
            }

    def mass_unsend(self, mass_id: int) -> dict:
        """`DELETE …/mass-messaging/{id}`: a queued one never goes out; a sent one is taken back (bought
        content stays viewable to its buyers)."""
        with self.lock:
            m = self.the_mass(mass_id)
            can = not m["isCanceled"]
            m["isCanceled"] = True
            m["isDone"] = m["isDone"] or not m["sent"]
            for fan_id, msg_id in m["sent"].items():
                if fan_id not in m["buyers"]:
                    self.chats[fan_id] = [e for e in self.chats.get(fan_id, []) if e["id"] != msg_id]
            return {
                "data": {
                    "sentCount": len(m["sent"]),
                    "viewedCount": len(m["viewed"]),
                    "canUnsend": can,
                    "unsendSeconds": UNSEND_SECONDS,
                }
            }

    # -- what fans did with it -------------------------------------------------------------------------
    def view_copy(self, fan_id: int, mass_id: int) -> None:
        with self.lock:
            self.the_mass(mass_id)["viewed"].add(fan_id)

    def buy_copy(self, fan_id: int, mass_id: int) -> dict:
        """A recipient unlocks their copy: the purchase webhook as the provider sends it."""
        from sim.platform_state import ApiError

        with self.lock:
            m = self.the_mass(mass_id)
            msg_id = m["sent"].get(fan_id)
            if msg_id is None or not m["price"] or fan_id in m["buyers"]:
                raise ApiError(400, f"fan {fan_id} has no unbought copy of mass message {mass_id}")
            m["buyers"][fan_id] = m["price"]
            m["viewed"].add(fan_id)
        self.unlock(fan_id, msg_id, m["price"])
        return {
            "message_id": msg_id,
            "webhooks": self.tell(
                self.dialect.unlocked({"id": fan_id, "name": self.names.get(fan_id, "")}, msg_id, m["price"])
            ),
        }

    def buyers(self, message_id: int, limit: int, offset: int) -> dict:
        """`GET …/engagement/messages/{message_id}/buyers`: the mass message's id or one copy's."""
        with self.lock:
            mass_id = self.copies.get(message_id, (message_id, None))[0]
            m = self.the_mass(mass_id)
            ids = list(m["buyers"])
            page = [
                {"id": i, "username": f"u{i}", "name": self.names.get(i, ""), "displayName": ""}
                for i in ids[offset : offset + limit]
            ]
            return {"data": {"list": page, "hasMore": offset + limit < len(ids), "marker": None}}

    def top_message(self) -> dict:
        """`GET …/engagement/messages/top-message`: the mass message that earned most."""
        with self.lock:
            if not self.mass_messages:
                return {"data": {"purchases": None}}
            m = max(self.mass_messages, key=lambda x: (sum(x["buyers"].values()), x["id"]))
            return {
                "data": {
                    "purchases": {
                        "id": m["id"],
                        "price": f"{float(m['price']):.2f}",
                        "purchasedCount": len(m["buyers"]),
                        "sentCount": len(m["sent"]),
                        "viewedCount": len(m["viewed"]),
                        "totalRevenueGenerated": f"{sum(m['buyers'].values()):.2f}",
                        "relationships": {"buyers": {"href": f"/engagement/messages/{m['id']}/buyers"}},
                    }
                }
            }


def _when(value) -> datetime | None:
    """`scheduledDate` (UTC, ISO 8601), or None for now."""
    if value in (None, ""):
        return None
    if not isinstance(value, str):
        raise _unprocessable("scheduledDate", "The scheduledDate must be a date.")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise _unprocessable("scheduledDate", "The scheduledDate must be a date.") from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)

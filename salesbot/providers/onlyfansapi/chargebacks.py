"""Chargebacks read from OnlyFansAPI.com's API (`GET /{account}/chargebacks`: there is no webhook for them),
on a schedule and within the credit budget (one call per page, at most a few pages per creator per pull).
Each is stored as an event (`chargebacks.pulled`, keyed by the chargeback's id, so a chargeback is taken
once however often it is listed) and applied by the one intake path as a Reversal: the purchase or tip it
undoes comes off the fan's books and the stats (salesbot.pipeline.books.on_reversal).

A chargeback the provider already told as `transactions.new` undo is not taken twice: the fan's
reversals of that amount already booked (or waiting) are counted against the chargebacks listed for it."""

import json
import logging
from collections import Counter
from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.utils import timezone

from learning.models import Outcome
from models_registry.models import Creator
from salesbot.models import PendingReversal, WebhookEvent
from salesbot.pipeline import queue
from salesbot.providers.base import PlatformError
from salesbot.providers.onlyfansapi import CHARGEBACK, NAME, Client

log = logging.getLogger(__name__)

LOOKBACK = timedelta(days=30)  # chargebacks come weeks after the payment
MAX_PAGES = 3  # credits: at most this many calls per creator per pull
ENDPOINT = "onlyfansapi-pull"


def _key(item) -> str:
    return f"chargeback_{item['id']}"


def _fan_amount(item):
    payment = item.get("payment") if isinstance(item.get("payment"), dict) else {}
    user = payment.get("user") if isinstance(payment.get("user"), dict) else {}
    try:
        return int(user.get("id")), Decimal(str(payment.get("amount"))).quantize(Decimal("0.01"))
    except (TypeError, ValueError, InvalidOperation):
        return None, None


def _already_reversed(creator, fan_id, amount, pulled_before: int) -> bool:
    """The provider's own undo of this money was booked (or is waiting) beyond what earlier pulls took."""
    told = (
        Outcome.objects.filter(
            fan__creator=creator, fan__fan_id=fan_id, event=Outcome.Event.REVERSED, amount=amount
        ).count()
        + PendingReversal.objects.filter(
            creator=creator, fan__fan_id=fan_id, amount=amount, applied_at__isnull=True
        ).count()
    )
    return told > pulled_before


def pull(creator) -> int:
    """Store the creator's new chargebacks as events; returns how many were new."""
    since = (timezone.now() - LOOKBACK).date().isoformat()
    try:
        items = Client(creator).chargebacks(start_date=since, max_pages=MAX_PAGES)
    except PlatformError as e:
        log.warning("chargebacks of %s not read: %s", creator.slug, e)
        return 0
    earlier = WebhookEvent.objects.filter(creator=creator, event=CHARGEBACK).values_list(
        "event_id", "status", "raw_body"
    )
    stored: set[str | None] = set()
    pulled: Counter[tuple] = Counter()  # (fan, amount) of the chargebacks applied as reversals
    for key, status, raw in earlier:
        stored.add(key)
        if status != WebhookEvent.Status.IGNORED:
            pulled[_fan_amount(json.loads(raw).get("payload") or {})] += 1
    new = 0
    for item in sorted(items, key=lambda i: str(i.get("createdAt") or "")):
        key = _key(item)
        if key in stored:
            continue
        fan_id, amount = _fan_amount(item)
        status = WebhookEvent.Status.RECEIVED
        error = ""
        if fan_id is not None and _already_reversed(creator, fan_id, amount, pulled[(fan_id, amount)]):
            status, error = WebhookEvent.Status.IGNORED, "already reversed by the provider's transactions.new undo"
        else:
            pulled[(fan_id, amount)] += 1
        body = json.dumps({"event": CHARGEBACK, "account_id": creator.account_id, "payload": item})
        try:
            with transaction.atomic():
                WebhookEvent.objects.create(
                    creator=creator,
                    event_id=key,
                    event=CHARGEBACK,
                    endpoint=ENDPOINT,
                    raw_body=body,
                    status=status,
                    error=error,
                )
        except IntegrityError:
            continue
        new += status == WebhookEvent.Status.RECEIVED
    if new:
        queue.wake_drain()
    return new


def pull_all() -> int:
    return sum(pull(c) for c in Creator.objects.filter(provider=NAME, enabled=True).exclude(api_key=""))

"""The creator's chosen reply delay: fans read instant answers as a bot, so a reply goes out a random time in
the creator's range after the fan's message (Creator.reply_delay_min_s / _max_s), with the provider's typing
indicator for its last seconds. Applied by scheduling: the fan's queue item is due at the delay less
TYPING_LEAD_S (queue not_before), the worker decides then, shows the indicator and schedules the send
TYPING_LEAD_S later (worker.SendLater). No worker ever waits; 0 and 0 (the default): at once."""

import logging
import random
from datetime import timedelta

from django.utils import timezone

from salesbot import providers
from salesbot.providers.base import PlatformError

log = logging.getLogger(__name__)

TYPING_LEAD_S = 3.0  # OnlyFansAPI.com's indicator shows about 4 s


def delayed(creator) -> bool:
    return bool(getattr(creator, "reply_delay_max_s", 0))


def decide_at(creator, now=None):
    """When the fan's reply is decided, or None (no delay): the drawn delay less the typing lead."""
    if not delayed(creator):
        return None
    lo, hi = sorted((creator.reply_delay_min_s or 0, creator.reply_delay_max_s))
    wait = max(random.uniform(lo, hi) - TYPING_LEAD_S, 0.0)
    return (now or timezone.now()) + timedelta(seconds=wait)


def typing_then_send_at(creator, fan, now=None):
    """Show the provider's typing indicator (where it has one) and say when the send goes out. A failed
    indicator never stops the reply."""
    client = providers.client_for(creator)
    if hasattr(client, "typing"):
        try:
            client.typing(fan.fan_id)
        except PlatformError as e:
            log.info("typing indicator for fan %s not shown: %s", fan.fan_id, e)
    return (now or timezone.now()) + timedelta(seconds=TYPING_LEAD_S)

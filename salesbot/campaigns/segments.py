"""A segment's fans, read live from its saved filter, and who of them a campaign leaves out and why.

Who may be sent a campaign is the contact rule's answer (salesbot.pipeline.contact: contact_block for the
bot, message_block for this very message: restricted words, content, price bounds, the 24h spend cap, a
line or content the fan already had), asked per fan; nothing here re-states it. On top, a campaign leaves
out fans the bot or a person wrote to in the last `Creator.campaign_quiet_hours`: a mass message right on
top of a live conversation reads as spam."""

import datetime
from collections import Counter
from datetime import timedelta

from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from fans.models import Fan
from fans.state_machine import FanState
from learning.models import Action
from learning.selectors import spend_capped
from models_registry.models import Creator
from salesbot.pipeline.contact import contact_block, message_block

RECENT = "written to in the last {hours} h"
SAMPLE = 10


def fans(segment):
    """The segment's fans now, with `last_out` (the latest message to each) annotated."""
    qs = Fan.objects.filter(creator_id=segment.creator_id)
    if segment.states:
        qs = qs.filter(state__in=segment.states)
    if segment.min_spent is not None:
        qs = qs.filter(total_spent__gte=segment.min_spent)
    if segment.max_spent is not None:
        qs = qs.filter(total_spent__lte=segment.max_spent)
    if segment.whale_candidates:
        qs = qs.filter(state=FanState.WHALE_CANDIDATE)
    for key, keep in ((segment.bought_content, True), (segment.never_bought_content, False)):
        if key:
            bought = Action.objects.filter(fan=OuterRef("pk"), content_key=key, purchased=True)
            qs = qs.filter(Exists(bought)) if keep else qs.exclude(Exists(bought))
    tz = timezone.get_current_timezone()
    if segment.active_after:
        start = datetime.datetime.combine(segment.active_after, datetime.time.min, tzinfo=tz)
        qs = qs.filter(last_interaction_ts__gte=start)
    if segment.active_before:
        end = datetime.datetime.combine(segment.active_before, datetime.time.min, tzinfo=tz)
        qs = qs.filter(Q(last_interaction_ts__lt=end) | Q(last_interaction_ts__isnull=True))
    if segment.subscription:
        qs = qs.filter(subscription_status=segment.subscription)
    if segment.arm:
        qs = qs.filter(arm=segment.arm)
    if segment.fan_ids:
        qs = qs.filter(fan_id__in=[int(i) for i in segment.fan_ids if str(i).lstrip("-").isdigit()])
    return qs.annotate(last_out=Max("messages__ts", filter=Q(messages__direction="out"))).order_by("fan_id")


def creator_for_rules(creator_id) -> Creator:
    """The creator with its vault read once (message_block reads it per fan)."""
    return Creator.objects.prefetch_related("vault_items").get(pk=creator_id)


def written_lately(creator, fan, now=None) -> str | None:
    """The quiet hours: the bot or a person wrote to this fan in the last `campaign_quiet_hours`."""
    hours = creator.campaign_quiet_hours
    last = getattr(fan, "last_out", None)
    if hours and last is not None and last > (now or timezone.now()) - timedelta(hours=hours):
        return RECENT.format(hours=hours)
    return None


def left_out(creator, fan, campaign=None, now=None) -> str | None:
    """Why this fan gets no campaign (None: it may go): the contact rule for the bot, the quiet hours, and
    for a campaign its message (message_block); for a bare segment, the 24h spend cap a priced one meets."""
    now = now or timezone.now()
    fan.creator = creator
    why = contact_block(creator, fan) or written_lately(creator, fan, now)
    if why:
        return why
    if campaign is None:
        return "fan reached the 24h spend cap: PPV offers are paused" if spend_capped(fan, now) else None
    return message_block(
        creator,
        fan,
        campaign.kind,
        text=campaign.text,
        content_key=campaign.content_key,
        price=campaign.price if campaign.kind == "ppv" else None,
    )


def category(reason: str) -> str:
    """A reason without its particulars ("held by a human until 14:05" → "held by a human"), to count by."""
    return reason.split(" until ")[0].split(":")[0].strip()


def preview(segment, campaign=None, sample: int = SAMPLE) -> dict:
    """The segment's live count, a sample of the fans a campaign would reach, and those left out by reason."""
    creator = creator_for_rules(segment.creator_id)
    reasons: Counter[str] = Counter()
    reachable: list[Fan] = []
    total = 0
    for fan in fans(segment).iterator(chunk_size=500):
        total += 1
        why = left_out(creator, fan, campaign)
        if why:
            reasons[category(why)] += 1
        else:
            reachable.append(fan) if len(reachable) < sample else None
    eligible = total - sum(reasons.values())
    return {
        "count": total,
        "eligible": eligible,
        "left_out": dict(reasons.most_common()),
        "sample": [
            {"fan_id": f.fan_id, "name": f.name, "state": f.state, "total_spent": str(f.total_spent)} for f in reachable
        ],
    }

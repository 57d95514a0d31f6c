"""A campaign's life: approved by a manager, sent once at its time, cancelled before it or unsent after.

At the send the segment is read afresh and each fan asked the last gate (sender.refusal: the contact rule
and this message's rules, on fresh rows), plus the quiet hours (segments.left_out). Of the fans it may
reach, a random share (a SHA-256 coin of the campaign and the fan: the same whoever asks) is held out so
the campaign's incremental revenue can be measured. Every recipient's send is an Action of the campaign
source (learning.stats.campaigns), recorded by sender.record before any call.

Then, where the provider has a mass-message endpoint (OnlyFansAPI.com): a user list made for the campaign
and one mass message to it, the campaign's uuid as Idempotency-Key; each recipient's `messages.sent` echo
(isFromQueue / queueId) books their Action as sent (salesbot.pipeline.account). Otherwise one message per
fan through the one sender (sender.deliver), each with its Action's key. A claim by conditional UPDATE and
the recipients' unique rows make a second scheduler run, or a retry after a crash, send nothing twice.
"""

import hashlib
import logging

from django.db import transaction
from django.utils import timezone

from learning.models import Action
from salesbot import providers
from salesbot.campaigns import segments
from salesbot.campaigns.models import Campaign, Recipient
from salesbot.pipeline import sender
from salesbot.pipeline.decisions import Decision
from salesbot.providers.base import PlatformError

log = logging.getLogger(__name__)
S = Campaign.Status


class CampaignError(ValueError):
    """A move the campaign's status does not allow (approve a sent one, cancel a cancelled one)."""


def held_out(campaign, fan_id: int) -> bool:
    digest = hashlib.sha256(f"{campaign.uuid}:{fan_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < campaign.holdout_share


def _move(campaign, frm: tuple, to: str, **fields) -> bool:
    """Conditional UPDATE: the move happens once, whoever asks at the same time."""
    done = Campaign.objects.filter(pk=campaign.pk, status__in=frm).update(status=to, **fields)
    if done:
        campaign.status = to
        for k, v in fields.items():
            setattr(campaign, k, v)
    return bool(done)


def approve(campaign, by) -> Campaign:
    if not _move(campaign, (S.DRAFT,), S.APPROVED, approved_by=by, approved_at=timezone.now()):
        raise CampaignError(f"only a campaign waiting for approval can be approved (this one is {campaign.status})")
    return campaign


def cancel(campaign, by) -> Campaign:
    """Before the send: it never goes out. After it, where the provider can unsend: taken back."""
    if _move(campaign, (S.DRAFT, S.APPROVED), S.CANCELED, canceled_by=by):
        return campaign
    if campaign.status == S.SENT and campaign.queue_id:
        answer = providers.client_for(campaign.creator).unsend_mass(campaign.queue_id)
        _move(
            campaign, (S.SENT,), S.UNSENT, canceled_by=by, provider_stats={**campaign.provider_stats, "unsend": answer}
        )
        return campaign
    raise CampaignError(
        f"this campaign is {campaign.get_status_display()}: it can no longer be cancelled"
        + ("" if campaign.queue_id else " (sent one message per fan: the provider cannot unsend)")
    )


def send_due(now=None) -> int:
    """The scheduler's tick: every approved campaign whose time came, and any left mid-send, sent once."""
    now = now or timezone.now()
    n = 0
    for campaign in Campaign.objects.filter(status__in=(S.APPROVED, S.SENDING), send_at__lte=now):
        if campaign.status == S.APPROVED and not _move(campaign, (S.APPROVED,), S.SENDING, sent_at=timezone.now()):
            continue  # another tick claimed it
        try:
            send(campaign)
        except PlatformError as e:  # transient: left `sending`, resumed by the next tick with the same keys
            Campaign.objects.filter(pk=campaign.pk).update(error=str(e)[:2000])
            log.warning("campaign %s: send interrupted (%s); resumed next tick", campaign.pk, e)
        n += 1
    return n


def send(campaign) -> None:
    if not campaign.recipients.exists():
        choose_recipients(campaign)
    client = providers.client_for(campaign.creator)
    if hasattr(client, "mass_send"):
        _send_mass(campaign, client)
    else:
        _send_each(campaign, client)


@transaction.atomic
def choose_recipients(campaign) -> dict:
    """The segment now, each fan asked the gate; the holdout drawn; an Action recorded per recipient."""
    creator = segments.creator_for_rules(campaign.creator_id)
    decision_of = Decision(
        action=campaign.kind,
        text=campaign.text,
        content_key=campaign.content_key,
        price=campaign.price if campaign.kind == "ppv" else None,
        hook=campaign.hook,
        reason=f"campaign {campaign.pk}: {campaign.name}"[:300],
        route="campaign",
        source=Action.Source.CAMPAIGN,
        extra={"campaign": campaign.pk, "segment": campaign.segment_id},
    )
    rows: list[Recipient] = []
    left: dict[str, int] = {}
    for fan in segments.fans(campaign.segment).iterator(chunk_size=500):
        fan.creator = creator
        why = segments.written_lately(creator, fan) or sender.refusal(
            creator,
            fan,
            decision_of.action,
            text=decision_of.text,
            content_key=decision_of.content_key,
            price=decision_of.price,
        )
        if why:
            left[segments.category(why)] = left.get(segments.category(why), 0) + 1
            rows.append(Recipient(campaign=campaign, fan=fan, role=Recipient.Role.LEFT_OUT, reason=why[:300]))
        elif held_out(campaign, fan.fan_id):
            rows.append(Recipient(campaign=campaign, fan=fan, role=Recipient.Role.HOLDOUT))
        else:
            action = sender.record(creator, fan, decision_of, None)
            rows.append(Recipient(campaign=campaign, fan=fan, role=Recipient.Role.SENT, action=action))
    Recipient.objects.bulk_create(rows, batch_size=500)
    Campaign.objects.filter(pk=campaign.pk).update(left_out=left)
    campaign.left_out = left
    return left


def _pending(campaign):
    return Action.objects.filter(campaign_recipient__campaign=campaign, status=Action.Status.PENDING)


def _send_mass(campaign, client) -> None:
    ids = list(campaign.recipients.filter(role=Recipient.Role.SENT).values_list("fan__fan_id", flat=True))
    if campaign.queue_id is None and ids:
        if not campaign.user_list_id:
            list_id = client.create_user_list(f"salesbot campaign {campaign.pk}: {campaign.name}")
            Campaign.objects.filter(pk=campaign.pk).update(user_list_id=list_id)
            campaign.user_list_id = list_id
            client.add_to_user_list(list_id, ids)
        media = (
            campaign.creator.vault_items.get(content_key=campaign.content_key).media_ids if campaign.content_key else []
        )
        queue_id = client.mass_send(
            campaign.text,
            media_ids=media,
            price=campaign.price or 0,
            user_lists=[campaign.user_list_id],
            idempotency_key=campaign.uuid,
        )
        Campaign.objects.filter(pk=campaign.pk).update(queue_id=queue_id)
        campaign.queue_id = queue_id
        for action in _pending(campaign).only("pk", "extra"):
            Action.objects.filter(pk=action.pk).update(extra={**action.extra, "queue_id": queue_id})
    _move(campaign, (S.SENDING,), S.SENT, error="")


def _send_each(campaign, client) -> None:
    """One message per fan through the one sender (the gate asked again on fresh rows for each)."""
    for action in _pending(campaign).select_related("creator", "fan").order_by("pk"):
        try:
            sender.deliver(action, client)
        except PlatformError as e:
            if e.transient:
                raise
            log.info("campaign %s: send to fan %s failed: %s", campaign.pk, action.fan.fan_id, e)
    _move(campaign, (S.SENDING,), S.SENT, error="")


def refresh_provider_stats(campaign) -> dict:
    """What the provider says of the mass message (sentCount, viewedCount; its buyers for a priced one),
    kept on the campaign. A provider without mass messages, or a failed call, leaves what was known."""
    if not campaign.queue_id:
        return campaign.provider_stats or {}
    client = providers.client_for(campaign.creator)
    try:
        stats = dict(client.mass_message(campaign.queue_id))
        if campaign.price:
            stats["buyers"] = len(client.message_buyers(campaign.queue_id))
    except PlatformError as e:
        log.info("campaign %s: provider stats unavailable (%s)", campaign.pk, e)
        return campaign.provider_stats or {}
    stats = {k: stats[k] for k in ("sentCount", "viewedCount", "canUnsend", "buyers") if k in stats}
    Campaign.objects.filter(pk=campaign.pk).update(provider_stats={**(campaign.provider_stats or {}), **stats})
    campaign.provider_stats = {**(campaign.provider_stats or {}), **stats}
    return campaign.provider_stats

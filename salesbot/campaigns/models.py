"""Segments (saved filters over a creator's fans), campaigns (one mass message to a segment, approved by a
manager, with a holdout) and their recipients (who was sent it, who was held out, who was left out and why)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from fans.state_machine import FanState
from learning.models import HOOKS


class Segment(models.Model):
    """A saved filter, read live: its fans are whoever matches now (salesbot.campaigns.segments)."""

    class Subscription(models.TextChoices):
        ANY = "", "any"
        ACTIVE = "active", "subscribed (active)"
        EXPIRED = "expired", "subscription expired"

    creator = models.ForeignKey("models_registry.Creator", on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(max_length=120)
    states = models.JSONField(
        default=list,
        blank=True,
        help_text=f"Fan states to include (empty: every state). One of {', '.join(FanState.values)}.",
    )
    min_spent = models.DecimalField("spent at least", max_digits=10, decimal_places=2, null=True, blank=True)
    max_spent = models.DecimalField("spent at most", max_digits=10, decimal_places=2, null=True, blank=True)
    whale_candidates = models.BooleanField("whale candidates only", default=False)
    bought_content = models.SlugField("bought this content", max_length=80, blank=True)
    never_bought_content = models.SlugField("never bought this content", max_length=80, blank=True)
    active_after = models.DateField("last active on or after", null=True, blank=True)
    active_before = models.DateField("last active before", null=True, blank=True)
    subscription = models.CharField(max_length=10, blank=True, choices=Subscription.choices)
    arm = models.CharField(
        "experiment arm",
        max_length=10,
        blank=True,
        choices=[("", "any"), ("learning", "learning"), ("control", "control")],
    )
    fan_ids = models.JSONField(
        "the creator's own list",
        default=list,
        blank=True,
        help_text="Platform fan ids (empty: no list, every fan the other filters keep).",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["creator", "name"]
        constraints = [models.UniqueConstraint(fields=["creator", "name"], name="uniq_segment_name")]

    def __str__(self):
        return self.name


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "waiting for approval"
        APPROVED = "approved", "approved, scheduled"
        SENDING = "sending"
        SENT = "sent"
        CANCELED = "canceled", "canceled before the send"
        UNSENT = "unsent", "unsent after the send"
        FAILED = "failed"

    uuid = models.UUIDField(
        default=uuid.uuid4,
        unique=True,
        editable=False,
        help_text="Idempotency key of the mass send; seeds the holdout coin.",
    )
    creator = models.ForeignKey("models_registry.Creator", on_delete=models.CASCADE, related_name="campaigns")
    name = models.CharField(max_length=120)
    segment = models.ForeignKey(Segment, on_delete=models.PROTECT, related_name="campaigns")
    text = models.TextField()
    content_key = models.SlugField("vault item", max_length=80, blank=True)
    price = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, help_text="Empty or 0: free. Priced needs a vault item."
    )
    hook = models.CharField(max_length=40, blank=True, choices=[("", "—")] + [(h, h) for h in HOOKS])
    send_at = models.DateTimeField(default=timezone.now, help_text="In the agency's time zone.")
    holdout_share = models.FloatField(
        default=0.1,
        help_text="Share of eligible fans not sent it (0–0.5), so the campaign's incremental revenue can be measured.",
    )
    window_hours = models.PositiveIntegerField(
        default=72, help_text="Replies, tips and purchases within this window after the send count as outcomes."
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    canceled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    queue_id = models.BigIntegerField("provider's mass-message id", null=True, blank=True)
    user_list_id = models.CharField("provider's user list", max_length=40, blank=True)
    left_out = models.JSONField(default=dict, blank=True, help_text="At the send: fans left out, by reason.")
    provider_stats = models.JSONField(default=dict, blank=True, help_text="What the provider reported last.")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-send_at"]
        indexes = [models.Index(fields=["status", "send_at"])]

    def __str__(self):
        return self.name

    @property
    def kind(self) -> str:
        """The Action kind each recipient's send is: a PPV when priced, else free media or text."""
        if self.price:
            return "ppv"
        return "free_media" if self.content_key else "text"


class Recipient(models.Model):
    """One fan of the segment at the send: sent (with its Action), held out, or left out with the reason."""

    class Role(models.TextChoices):
        SENT = "sent"
        HOLDOUT = "holdout"
        LEFT_OUT = "left_out", "left out"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="recipients")
    fan = models.ForeignKey("fans.Fan", on_delete=models.CASCADE, related_name="campaign_rows")
    role = models.CharField(max_length=10, choices=Role.choices)
    reason = models.CharField(max_length=300, blank=True)
    action = models.OneToOneField(
        "learning.Action", null=True, blank=True, on_delete=models.SET_NULL, related_name="campaign_recipient"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["campaign", "fan"], name="uniq_campaign_fan")]
        indexes = [models.Index(fields=["campaign", "role"])]

    def __str__(self):
        return f"{self.campaign} → {self.fan} ({self.role})"

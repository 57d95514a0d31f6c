"""Pipeline state: raw webhook events (persist-then-ack) and the per-fan priority queue."""
from django.db import models
from django.db.models import Q
from django.utils import timezone


class WebhookEvent(models.Model):
    """Every inbound webhook, stored before it is acknowledged so nothing is lost."""

    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSED = "processed"
        IGNORED = "ignored", "ignored (unknown event)"
        FAILED = "failed"

    creator = models.ForeignKey("models_registry.Creator", on_delete=models.CASCADE, null=True, blank=True,
                                related_name="webhook_events")
    event_id = models.CharField(max_length=120, null=True, blank=True)
    event = models.CharField(max_length=80, blank=True)
    endpoint = models.CharField(max_length=120, blank=True)
    raw_body = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RECEIVED, db_index=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    processed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-received_at"]
        constraints = [models.UniqueConstraint(fields=["creator", "event_id"], name="uniq_webhook_event")]

    def __str__(self):
        return f"{self.event or '?'} {self.event_id or ''} [{self.status}]"


class QueueItem(models.Model):
    """A fan waiting for the bot (seed §11 priority queue). One pending item per fan at most."""

    class Reason(models.TextChoices):
        MESSAGE = "message", "fan message"
        WELCOME = "welcome", "new subscriber"
        BUMP = "bump"
        REKINDLE = "rekindle"

    class Status(models.TextChoices):
        PENDING = "pending"
        WORKING = "working"
        DONE = "done"
        FAILED = "failed"

    creator = models.ForeignKey("models_registry.Creator", on_delete=models.CASCADE, related_name="queue_items")
    fan = models.ForeignKey("fans.Fan", on_delete=models.CASCADE, related_name="queue_items")
    reason = models.CharField(max_length=10, choices=Reason.choices, default=Reason.MESSAGE)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    enqueued_at = models.DateTimeField(default=timezone.now)
    waiting_since = models.DateTimeField(default=timezone.now, help_text="When the fan's oldest unanswered event arrived.")
    not_before = models.DateTimeField(default=timezone.now, help_text="Retry backoff: not worked before this.")
    claimed_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    action = models.ForeignKey("learning.Action", on_delete=models.SET_NULL, null=True, blank=True,
                               help_text="The action decided for this item; a retry resends it, never decides anew.")
    result = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["enqueued_at"]
        indexes = [models.Index(fields=["status", "enqueued_at"])]
        constraints = [models.UniqueConstraint(fields=["fan"], condition=Q(status="pending"),
                                               name="one_pending_item_per_fan")]

    def __str__(self):
        return f"{self.fan} {self.reason} [{self.status}]"

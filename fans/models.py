"""A fan as the seed's state file (docs/operations.md#importing-the-seeds-logs) describes it, plus the
conversation and its audit trail."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone

from fans.state_machine import FanState
from team.models import Autonomy


class Fan(models.Model):
    creator = models.ForeignKey("models_registry.Creator", on_delete=models.CASCADE, related_name="fans")
    fan_id = models.BigIntegerField("platform fan id")
    state = models.CharField(max_length=20, choices=FanState.choices, default=FanState.NEW, db_index=True)
    name = models.CharField(max_length=200, blank=True)
    messages_sent = models.PositiveIntegerField(default=0)
    messages_received = models.PositiveIntegerField(default=0)
    total_spent = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0"))
    last_ppv_price = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    content_sent = models.JSONField(default=list, blank=True)
    last_interaction_ts = models.DateTimeField(null=True, blank=True, db_index=True)
    created_ts = models.DateTimeField(default=timezone.now)
    signals = models.JSONField(default=list, blank=True)
    notes = models.TextField(blank=True)
    # Beyond the seed's file.
    whale_score = models.PositiveSmallIntegerField(default=0)
    opted_out = models.BooleanField(default=False, help_text="Asked not to be messaged: the bot never writes again.")
    handoff_reason = models.CharField(max_length=200, blank=True)
    safety_flag = models.BooleanField(default=False)
    # Per-fan arrival counter: orders a fan's actions and outcomes that share a timestamp.
    event_seq = models.PositiveBigIntegerField(default=0)
    # A human wrote to the fan in the platform's own UI: the bot stays silent until then (pipeline.contact).
    human_hold_until = models.DateTimeField(
        null=True, blank=True, db_index=True
    )  # the live inbox counts holds on every poll
    # The provider's ephemeral events (users.typing / users.online / users.offline): the fan is typing
    # until then (the queued reply waits, bounded), and whether the fan is online, since when.
    typing_until = models.DateTimeField(null=True, blank=True, editable=False)
    online = models.BooleanField(null=True, blank=True, editable=False)
    online_changed_at = models.DateTimeField(null=True, blank=True, editable=False)
    held_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The team member whose console message holds the bot (empty: a human in the platform's UI).",
    )
    autonomy = models.CharField(
        "mode",
        max_length=10,
        blank=True,
        choices=Autonomy.choices,
        help_text="Overrides the creator's mode for this fan (e.g. a whale on approve); empty: the creator's.",
    )
    subscription_status = models.CharField(
        max_length=10, blank=True, db_index=True, choices=[("active", "active"), ("expired", "expired")]
    )
    subscription_renewals = models.PositiveIntegerField(default=0)
    subscription_price = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    subscription_expired_at = models.DateTimeField(null=True, blank=True)
    # Holdout experiment (learning.experiments): the arm this fan was assigned to, once, and in which experiment.
    arm = models.CharField(max_length=10, blank=True, choices=[("learning", "learning"), ("control", "control")])
    experiment = models.ForeignKey(
        "models_registry.Experiment", null=True, blank=True, on_delete=models.SET_NULL, related_name="fans"
    )
    # A fan who needs a person: since when, and the on-duty chatter it is assigned to (salesbot.inbox.assignment).
    needs_human_since = models.DateTimeField(null=True, blank=True)
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="assigned_fans",
        help_text="The person this fan is routed to.",
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    # A worker's exclusive hold on this fan, so one fan is never handled by two workers at once.
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["creator", "fan_id"]
        constraints = [models.UniqueConstraint(fields=["creator", "fan_id"], name="uniq_fan_per_creator")]
        indexes = [models.Index(fields=["creator", "state"])]

    def __str__(self):
        return f"{self.name or 'fan'} ({self.fan_id})"


class Message(models.Model):
    class Direction(models.TextChoices):
        IN = "in", "from fan"
        OUT = "out", "to fan"

    fan = models.ForeignKey(Fan, on_delete=models.CASCADE, related_name="messages")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    text = models.TextField(blank=True)
    platform_message_id = models.BigIntegerField(null=True, blank=True)
    ts = models.DateTimeField(default=timezone.now, db_index=True)
    # What the message's own clock said, kept when it was off by too much to be believed (then `ts` is
    # the arrival time; see salesbot.pipeline.intake.message_time).
    claimed_ts = models.DateTimeField(null=True, blank=True)
    by_human = models.BooleanField(default=False, help_text="Written by a person in the platform's own UI.")
    # Signals read from an incoming message once, on arrival (router, whale score and safety use them).
    signals = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["fan", "ts", "id"]

    def __str__(self):
        return f"{self.direction}: {self.text[:40]}"


class FanTransition(models.Model):
    fan = models.ForeignKey(Fan, on_delete=models.CASCADE, related_name="transitions")
    from_state = models.CharField(max_length=20, choices=FanState.choices)
    to_state = models.CharField(max_length=20, choices=FanState.choices)
    reason = models.CharField(max_length=200)
    by_staff = models.BooleanField(default=False)
    by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name="by",
        help_text="The person who made the move (handed off, resumed, parked), if one did.",
    )
    ts = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["fan", "ts", "id"]

    def __str__(self):
        return f"{self.from_state} → {self.to_state} ({self.reason})"


class FanFact(models.Model):
    """Something durable about a fan (a pet's name, a job, what they love, how a purchase landed), kept so
    the model's prompt remembers it long after the message that said it (fans.facts, salesbot.pipeline.memory)."""

    class Source(models.TextChoices):
        RULES = "rules", "from the fan's messages"
        LLM = "llm", "from the model"
        STAFF = "staff", "by staff"

    fan = models.ForeignKey(Fan, on_delete=models.CASCADE, related_name="facts")
    # A topic ("job", "home", "pet:dog") holds one fact, so the fan's newer word replaces the older;
    # free facts are keyed by their own text, so saying a thing twice keeps one fact.
    key = models.CharField(max_length=160)
    text = models.CharField(max_length=120)
    source = models.CharField(max_length=5, choices=Source.choices)
    ts = models.DateTimeField(default=timezone.now, help_text="When it was learned or last said again.")

    class Meta:
        ordering = ["fan", "-ts", "-id"]
        constraints = [models.UniqueConstraint(fields=["fan", "key"], name="uniq_fact_per_fan_key")]

    def __str__(self):
        return self.text


class SafetyClearance(models.Model):
    """A manager cleared a fan's safety flag: who, why, and what the flag had said (the audit reads it)."""

    fan = models.ForeignKey(Fan, on_delete=models.CASCADE, related_name="safety_clearances")
    by_user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=500)
    was = models.CharField("flag was", max_length=200, blank=True)
    ts = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-ts", "-id"]

    def __str__(self):
        return f"safety flag cleared by {self.by_user}: {self.reason[:40]}"


class NeedsHumanFan(Fan):
    """Admin's "needs a human" list: handed-off fans, safety-flagged first (fans.admin)."""

    class Meta:
        proxy = True
        verbose_name = "fan who needs a human"
        verbose_name_plural = "fans who need a human"

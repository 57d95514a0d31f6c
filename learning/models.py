"""What the bot did (Action) and how the fan answered (Outcome), as the seed logged them
(docs/operations.md#importing-the-seeds-logs), and the rollups the
learning stats read (StatsCell, BuyerStat; kept by learning.stats.counters)."""

import datetime
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from fans.state_machine import FanState

HOOKS = ["vulnerability", "scarcity", "challenge", "conditional", "exclusivity", "sexual_match", "curiosity"]
# The fan's price context when the rule engine chose a PPV (salesbot.pipeline.fan_prices.context); the part before
# ":" is the old new/buyer segment, which rows without a context (imports, the LLM) fall back to.
PRICE_CONTEXTS = ["new:first", "new:declined", "buyer:low", "buyer:big"]


class UTCHourField(models.PositiveSmallIntegerField):
    """The UTC hour (0..23) of the row's `ts`, set whenever the row is saved or bulk-created, so
    conversion by hour is a plain indexed group-by instead of a per-row hour extraction."""

    def pre_save(self, model_instance, add):
        ts = model_instance.ts
        value = None if ts is None else ts.astimezone(datetime.UTC).hour
        setattr(model_instance, self.attname, value)
        return value


class Action(models.Model):
    class Kind(models.TextChoices):
        PPV = "ppv"
        TEXT = "text"
        FREE_MEDIA = "free_media"
        BUMP = "bump"
        REKINDLE = "rekindle"
        SKIP = "skip"
        WELCOME = "welcome"
        TEASE = "tease"

    class Source(models.TextChoices):
        RULES = "rules"
        LLM = "llm"
        STAFF = "staff", "a team member (console)"
        IMPORT = "import"
        HUMAN = "human", "a human in the platform's UI"
        CAMPAIGN = "campaign", "a campaign (mass message)"

    class Status(models.TextChoices):
        LOGGED = "logged", "logged (not sent by this system)"
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"
        REFUSED = "refused", "refused by the last gate"

    # In memory only, never stored: set by salesbot.pipeline.sender.record() when its message has just passed
    # the last gate, so deliver() right after asks only the contact rule again.
    gate_passed: bool = False
    uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False, help_text="Idempotency key for the send.")
    creator = models.ForeignKey("models_registry.Creator", on_delete=models.CASCADE, related_name="actions")
    fan = models.ForeignKey("fans.Fan", on_delete=models.CASCADE, related_name="actions")
    ts = models.DateTimeField(default=timezone.now)
    seq = models.PositiveBigIntegerField(default=0, help_text="Arrival order within the fan.")
    action = models.CharField(max_length=20)
    content_key = models.CharField(max_length=80, blank=True)
    price = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    hook = models.CharField(max_length=40, blank=True)
    fan_state = models.CharField(max_length=20, choices=FanState.choices, blank=True)
    fan_total_spent = models.DecimalField(max_digits=10, decimal_places=2, default=0)
    response_time_s = models.FloatField(null=True, blank=True)
    message_text = models.TextField(blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.RULES)
    reason = models.CharField(max_length=300, blank=True)
    # docs/architecture.md#routing
    route = models.CharField(max_length=40, blank=True, help_text="The routing-table row that fired.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.LOGGED)
    error = models.TextField(blank=True)
    platform_message_id = models.BigIntegerField(null=True, blank=True)
    # Set by attribution (learning.attribution) so stats stay a plain indexed scan.
    purchased = models.BooleanField(default=False)
    ghosted = models.BooleanField(default=False)
    import_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    extra = models.JSONField(default=dict, blank=True, help_text="Seed fields this schema does not name.")
    explored = models.BooleanField(
        default=False,
        help_text="The rule engine explored (Thompson sampling) rather than took its best-evidenced choice.",
    )
    segment = models.CharField(
        max_length=20,
        blank=True,
        choices=[(c, c) for c in PRICE_CONTEXTS],
        help_text="The fan's price context when the rule engine chose this PPV "
        "(empty: not recorded, e.g. imported or LLM-chosen).",
    )
    # Humans in the loop: who sent it (a console message, or the approver of a bot draft) and whether the
    # bot's draft went out as drafted or edited, so the stats can tell the bot's own offers from edited ones.
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    review = models.CharField(
        max_length=10,
        blank=True,
        choices=[("approved", "bot draft approved as is"), ("edited", "bot draft edited, then sent")],
    )
    reversed = models.BooleanField(
        default=False,
        help_text="A purchase of this PPV was taken back (refund, "
        "chargeback, undo): it earned nothing, and counts "
        "in the chargeback rate of its price and hook.",
    )
    propensity = models.FloatField(
        null=True,
        blank=True,
        help_text="The probability the offer policy had of choosing this offer (price, "
        "hook, item), Thompson draws and exploration included; logged for "
        "off-policy evaluation (learning.offpolicy). Empty: not a rule-engine "
        "offer.",
    )
    utc_hour = UTCHourField(null=True, blank=True, editable=False, help_text="UTC hour of ts (set on save).")
    arm = models.CharField(
        max_length=10,
        blank=True,
        choices=[("learning", "learning"), ("control", "control")],
        help_text="The fan's holdout-experiment arm when this was recorded, while its experiment "
        "ran (learning.experiments); control-arm actions are left out of the learning "
        "stats the offers read.",
    )

    class Meta:
        ordering = ["fan", "ts", "seq"]
        indexes = [
            models.Index(fields=["creator", "action", "utc_hour"]),
            models.Index(fields=["creator", "action", "price"]),
            models.Index(fields=["creator", "action", "content_key"]),
            models.Index(fields=["creator", "action", "hook"]),
            models.Index(fields=["creator", "fan_state"]),
            models.Index(fields=["fan", "ts", "seq"]),
            models.Index(fields=["creator", "platform_message_id"]),
            models.Index(fields=["status"]),
        ]

    def __str__(self):
        return f"{self.action} {self.content_key} {self.price or ''}".strip()


class Outcome(models.Model):
    class Event(models.TextChoices):
        PURCHASED = "purchased"
        REPLIED = "replied"
        GHOSTED = "ghosted"
        TIPPED = "tipped"
        REVERSED = "reversed", "reversed (money taken back)"

    creator = models.ForeignKey("models_registry.Creator", on_delete=models.CASCADE, related_name="outcomes")
    fan = models.ForeignKey("fans.Fan", on_delete=models.CASCADE, related_name="outcomes")
    ts = models.DateTimeField(default=timezone.now)
    seq = models.PositiveBigIntegerField(default=0)
    event = models.CharField(max_length=20)
    amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    action = models.ForeignKey(
        Action,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="outcomes",
        help_text="The bot action this outcome answers, if any.",
    )
    platform_event_id = models.CharField(max_length=120, null=True, blank=True)  # noqa: DJ001  (NULL: none; unique)
    import_key = models.CharField(max_length=64, null=True, blank=True, unique=True)
    extra = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["fan", "ts", "seq"]
        indexes = [
            models.Index(fields=["creator", "event"]),
            models.Index(fields=["fan", "event", "ts", "seq"]),
        ]
        constraints = [
            models.UniqueConstraint(fields=["creator", "platform_event_id"], name="uniq_outcome_event"),
        ]

    def __str__(self):
        return f"{self.event} {self.amount or ''}".strip()


class StatsCell(models.Model):
    """Append-only counters of learning.stats.counters: one row is a delta (+1 sent, +1 bought, -1 on a delete
    ...) to the cell (dimension, key, key2); a cell's value is the sum of its rows. Appending instead of
    updating one row per cell means concurrent writers never wait on (or deadlock over) a shared
    counter row; learning.stats.counters.compact() folds the rows back into one per cell."""

    creator = models.ForeignKey("models_registry.Creator", on_delete=models.CASCADE, related_name="+")
    dimension = models.CharField(max_length=12)
    key = models.CharField(max_length=80, blank=True)
    key2 = models.CharField(max_length=40, blank=True)
    n = models.BigIntegerField(default=0, help_text="sent (or counted) actions")
    hit = models.BigIntegerField(default=0, help_text="of which bought (conversion) or ghosted (stage)")

    class Meta:
        indexes = [models.Index(fields=["creator", "dimension", "key", "key2"])]

    def __str__(self):
        return f"{self.dimension} {self.key} {self.key2} {self.n}/{self.hit}".strip()


class BuyerStat(models.Model):
    """Per fan with a purchase: its first purchase's (ts, seq) and the `replied` outcomes before it,
    so avg_msgs_to_first_buy is one AVG over buyers instead of a correlated query per fan."""

    fan = models.OneToOneField("fans.Fan", on_delete=models.CASCADE, primary_key=True, related_name="+")
    creator = models.ForeignKey("models_registry.Creator", on_delete=models.CASCADE, related_name="+")
    first_buy_ts = models.DateTimeField()
    first_buy_seq = models.PositiveBigIntegerField()
    replies = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [models.Index(fields=["creator", "replies"])]

    def __str__(self):
        return f"fan {self.fan_id}: {self.replies} replies before the first buy"


class ImportedFanState(models.Model):
    """A fan's seed state file as last imported. The next import compares with it: a field whose
    stored value is no longer what the file said was changed live since, and is never overwritten."""

    fan = models.OneToOneField("fans.Fan", on_delete=models.CASCADE, primary_key=True, related_name="+")
    values = models.JSONField(default=dict, help_text="The file's fields, as imported.")
    imported_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"fan {self.fan_id} as imported {self.imported_at:%Y-%m-%d %H:%M}"

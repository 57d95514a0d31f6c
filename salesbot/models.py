"""Pipeline state: raw webhook events (persist-then-ack) and the per-fan priority queue."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from rest_framework.authtoken.models import TokenProxy

from models_registry.models import mask


class WebhookEvent(models.Model):
    """Every inbound webhook, stored before it is acknowledged so nothing is lost."""

    class Status(models.TextChoices):
        RECEIVED = "received"
        PROCESSED = "processed"
        IGNORED = "ignored", "ignored (unknown event)"
        FAILED = "failed"

    creator = models.ForeignKey(
        "models_registry.Creator", on_delete=models.CASCADE, null=True, blank=True, related_name="webhook_events"
    )
    event_id = models.CharField(max_length=120, null=True, blank=True)  # noqa: DJ001  (NULL: none; unique with creator)
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


class IntakeDrain(models.Model):
    """One row: is a drain task queued and not yet started? Stored events (status received) are the
    durable queue; a webhook queues a drain task only when it flips this flag false -> true, and the drain
    clears it before it looks for events, so an event stored after that look finds the flag clear and
    queues the next drain. One cheap read per webhook instead of one task per webhook."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    queued = models.BooleanField(default=False)
    changed_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"drain {'queued' if self.queued else 'idle'} since {self.changed_at:%H:%M:%S}"


class QueueItem(models.Model):
    """A fan waiting for the bot (the priority queue: docs/architecture.md#the-queue-and-the-background-checks).
    One pending item per fan at most."""

    class Reason(models.TextChoices):
        MESSAGE = "message", "fan message"
        WELCOME = "welcome", "new subscriber"
        BUMP = "bump"
        REKINDLE = "rekindle"
        EXPIRED = "expired", "subscription expired (re-engage)"

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
    waiting_since = models.DateTimeField(
        default=timezone.now, help_text="When the fan's oldest unanswered event arrived."
    )
    not_before = models.DateTimeField(default=timezone.now, help_text="Retry backoff: not worked before this.")
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(
        max_length=120,
        blank=True,
        help_text="The worker process holding it (host:pid:start): a dead one's item is "
        "taken over at once, not after the lease.",
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    action = models.ForeignKey(
        "learning.Action",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        help_text="The action decided for this item; a retry resends it, never decides anew.",
    )
    result = models.CharField(max_length=300, blank=True)
    followup_since = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The fan wrote while this item's decided send waited (a retry): once it is "
        "sent or given up, a new item answers what the fan wrote since then.",
    )

    class Meta:
        ordering = ["enqueued_at"]
        indexes = [models.Index(fields=["status", "enqueued_at"])]
        constraints = [
            models.UniqueConstraint(fields=["fan"], condition=Q(status="pending"), name="one_pending_item_per_fan")
        ]

    def __str__(self):
        return f"{self.fan} {self.reason} [{self.status}]"


class PendingReversal(models.Model):
    """Money the platform took back (a `transactions.new` undo) before the purchase or tip it takes back
    reached us: kept here and applied when that purchase or tip is booked (pipeline.books), so the
    out-of-order pair needs no staff replay."""

    class Kind(models.TextChoices):
        PURCHASE = "purchase"
        TIP = "tip"

    creator = models.ForeignKey("models_registry.Creator", on_delete=models.CASCADE, related_name="+")
    fan = models.ForeignKey("fans.Fan", on_delete=models.CASCADE, related_name="pending_reversals")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    amount = models.DecimalField(max_digits=10, decimal_places=2)
    event_id = models.CharField(max_length=120, blank=True, help_text="The undo's webhook event.")
    received_at = models.DateTimeField(default=timezone.now)
    applied_at = models.DateTimeField(null=True, blank=True, db_index=True)
    outcome = models.ForeignKey(
        "learning.Outcome",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The purchase or tip it reversed, once applied.",
    )

    class Meta:
        ordering = ["received_at", "id"]
        indexes = [models.Index(fields=["fan", "kind", "amount"])]

    def __str__(self):
        return f"undo {self.kind} ${self.amount} [{'applied' if self.applied_at else 'waiting'}]"


class LLMCall(models.Model):
    """One model call: what it cost, how long it took, and whether its answer was used."""

    class Outcome(models.TextChoices):
        ACCEPTED = "accepted"
        REJECTED = "rejected", "rejected reply (rules decided)"
        ERROR = "error", "API error (rules decided)"
        WAITING = "waiting", "batch result waiting for the fan's turn"
        STALE = "stale", "batch result dropped (the fan moved on)"

    creator = models.ForeignKey("models_registry.Creator", on_delete=models.CASCADE, related_name="llm_calls")
    fan = models.ForeignKey("fans.Fan", on_delete=models.SET_NULL, null=True, related_name="llm_calls")
    action = models.ForeignKey(
        "learning.Action", on_delete=models.SET_NULL, null=True, blank=True, related_name="llm_calls"
    )
    ts = models.DateTimeField(default=timezone.now, db_index=True)
    model = models.CharField(max_length=80)
    prompt_tokens = models.PositiveIntegerField(default=0, help_text="Our count before sending (limit 15K).")
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cache_creation_tokens = models.PositiveIntegerField(default=0)
    cache_read_tokens = models.PositiveIntegerField(default=0)
    latency_ms = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=10, decimal_places=6, default=0)
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    error = models.TextField(blank=True, help_text="Why the reply was rejected, or the API error.")
    raw_reply = models.TextField(blank=True)
    trimmed = models.PositiveSmallIntegerField(default=0, help_text="Context items trimmed to fit the limit.")
    batched = models.BooleanField(
        default=False, help_text="Sent through the Message Batches API (billed at the batch discount)."
    )

    class Meta:
        ordering = ["-ts"]
        indexes = [models.Index(fields=["creator", "outcome"])]

    def __str__(self):
        return f"{self.model} {self.outcome} {self.input_tokens}+{self.output_tokens} tok"


class LLMBatchRequest(models.Model):
    """A follow-up (bump, rekindle, re-engage) the model writes through the Message Batches API
    (salesbot.pipeline.batches): queued by the worker, sent in the next batch, its result applied on the fan's
    next turn through the worker like a live model reply, or dropped when the fan moved on since it was queued."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued for the next batch"
        SUBMITTED = "submitted", "in a batch the API is processing"
        READY = "ready", "result in: waits for the fan's turn"
        APPLIED = "applied", "the model's follow-up was used"
        FELL_BACK = "fell_back", "no usable result: the rules' follow-up instead"
        STALE = "stale", "dropped: the fan moved on since it was queued"

    class Result(models.TextChoices):
        NONE = "", "none yet"
        SUCCEEDED = "succeeded"
        ERRORED = "errored"
        CANCELED = "canceled"
        EXPIRED = "expired"

    OPEN = (Status.QUEUED, Status.SUBMITTED, Status.READY)

    creator = models.ForeignKey("models_registry.Creator", on_delete=models.CASCADE, related_name="+")
    fan = models.ForeignKey("fans.Fan", on_delete=models.CASCADE, related_name="llm_batch_requests")
    kind = models.CharField(max_length=10, help_text="The follow-up: the queue reason (bump, rekindle, expired).")
    custom_id = models.CharField(max_length=64, unique=True, help_text="The request's id inside its batch.")
    batch_id = models.CharField(max_length=100, blank=True, db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    result = models.CharField(max_length=10, choices=Result.choices, blank=True, default=Result.NONE)
    error = models.TextField(blank=True, help_text="The API's error, or why the result was dropped.")
    queued_at = models.DateTimeField(default=timezone.now)
    submitted_at = models.DateTimeField(null=True, blank=True)
    result_at = models.DateTimeField(null=True, blank=True)
    done_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a batch with it was sent.")
    # The fan as it was when the follow-up was queued: a result that comes after the fan moved on is stale.
    last_in_id = models.BigIntegerField(default=0, help_text="The fan's newest message (by arrival) when queued.")
    last_in_ts = models.DateTimeField(null=True, blank=True)
    fan_state = models.CharField(max_length=20, blank=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    trimmed = models.PositiveSmallIntegerField(default=0)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    cost_usd = models.DecimalField(max_digits=10, decimal_places=6, default=0)
    llm_call = models.ForeignKey(LLMCall, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    action = models.ForeignKey("learning.Action", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        ordering = ["-queued_at"]
        indexes = [models.Index(fields=["status", "queued_at"])]
        constraints = [
            models.UniqueConstraint(
                fields=["fan"], condition=Q(status__in=["queued", "submitted", "ready"]), name="one_open_batch_request"
            )
        ]

    def __str__(self):
        return f"{self.kind} for {self.fan_id} [{self.status}]"


class StaffToken(TokenProxy):
    """A staff API token as admin handles it: its name is the masked key, so the key never lands in admin's
    "recent actions", page titles, history or messages (the string of a DRF token is its key)."""

    class Meta:
        proxy = True
        verbose_name = "staff API token"

    def __str__(self):
        return f"{mask(self.key)} ({self.user})"


class Draft(models.Model):
    """What the bot would have sent to a fan in `approve` mode: nothing reaches the platform until a person
    approves it (as is, or edited), and a rejection keeps its reason. The fan writing again supersedes it."""

    class Status(models.TextChoices):
        OPEN = "open", "waiting for a person"
        APPROVED = "approved", "approved as drafted"
        EDITED = "edited", "edited, then sent"
        REJECTED = "rejected"
        SUPERSEDED = "superseded", "superseded (the fan wrote again)"
        RETURNED = "returned", "handed back to the bot (mode changed)"

    creator = models.ForeignKey("models_registry.Creator", on_delete=models.CASCADE, related_name="drafts")
    fan = models.ForeignKey("fans.Fan", on_delete=models.CASCADE, related_name="drafts")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN, db_index=True)
    created_at = models.DateTimeField(default=timezone.now)
    waiting_since = models.DateTimeField(default=timezone.now, help_text="Since when the fan waits for an answer.")
    action = models.CharField(max_length=20)
    text = models.TextField(blank=True)
    content_key = models.CharField(max_length=80, blank=True)
    price = models.DecimalField(max_digits=8, decimal_places=2, null=True, blank=True)
    hook = models.CharField(max_length=40, blank=True)
    reason = models.CharField(max_length=300, blank=True)
    route = models.CharField(max_length=40, blank=True)
    source = models.CharField(max_length=10, default="rules")
    extra = models.JSONField(default=dict, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    reject_reason = models.CharField(max_length=300, blank=True)
    sent_action = models.ForeignKey(
        "learning.Action",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="The action the approval sent.",
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["creator", "status"])]

    def __str__(self):
        return f"draft {self.action} to {self.fan_id} [{self.status}]"


class ReadMark(models.Model):
    """How far one person has read one fan's conversation (the inbox's unread counts and bold rows)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    fan = models.ForeignKey("fans.Fan", on_delete=models.CASCADE, related_name="+")
    message_id = models.BigIntegerField(default=0, help_text="The newest message id this person has seen.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "fan"], name="uniq_readmark_per_user_fan")]

    def __str__(self):
        return f"{self.user_id} read fan {self.fan_id} to message {self.message_id}"


class MetricCount(models.Model):
    """A counter for /metrics that no row keeps (provider errors, rate-limit pauses): bumped in the database,
    so every process (web, each qcluster worker, each machine) adds to the one figure the scrape reads."""

    name = models.CharField(max_length=60)
    label = models.CharField(max_length=60, blank=True)
    value = models.BigIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "label"], name="uniq_metric_count")]

    def __str__(self):
        return f"{self.name}{{{self.label}}} {self.value}"


def _token_expiry():
    from datetime import timedelta

    days = settings.API_TOKEN_DAYS
    return timezone.now() + timedelta(days=days) if days else None


class TokenInfo(models.Model):
    """What a staff API token (DRF's Token) carries beside its key: a name, an expiry and its last use
    (salesbot.api.authentication answers an expired token 401 and notes each use, at most once a minute).
    Revoking a token deletes it (and this row)."""

    token = models.OneToOneField("authtoken.Token", on_delete=models.CASCADE, primary_key=True, related_name="info")
    name = models.CharField(max_length=80, blank=True, help_text="What the token is for, e.g. 'ops dashboard'.")
    expires_at = models.DateTimeField(
        null=True,
        blank=True,
        default=_token_expiry,
        help_text="After this the token answers 401. Empty: never expires.",
    )
    last_used = models.DateTimeField(null=True, blank=True, editable=False)
    last_used_ip = models.GenericIPAddressField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "staff API token details"

    def __str__(self):
        return self.name or "token"

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()


class SecurityEvent(models.Model):
    """Logins, failed logins, lockouts and their lifting, two-factor enrolment, tokens made and revoked: the
    account side of the audit page (salesbot.audit). Written by salesbot.security, never edited."""

    class Kind(models.TextChoices):
        LOGIN = "login", "logged in"
        LOGIN_FAILED = "login_failed", "failed login"
        LOCKED_OUT = "locked_out", "locked out"
        UNLOCKED = "unlocked", "lockout lifted"
        IDLE_LOGOUT = "idle_logout", "logged out after idle time"
        TWO_FACTOR = "two_factor", "two-factor set up"
        RECOVERY_CODES = "recovery_codes", "new recovery codes"
        RECOVERY_USED = "recovery_used", "logged in with a recovery code"
        TOKEN_CREATED = "token_created", "API token created"
        TOKEN_REVOKED = "token_revoked", "API token revoked"

    ts = models.DateTimeField(default=timezone.now, db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Whose account.",
    )
    username = models.CharField(max_length=150, blank=True, help_text="As typed (a failed login's may not exist).")
    by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who did it, when not the account's owner.",
    )
    ip = models.GenericIPAddressField(null=True, blank=True)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-ts", "-id"]

    def __str__(self):
        return f"{self.ts:%Y-%m-%d %H:%M} {self.get_kind_display()} {self.username}"


class ProviderUsage(models.Model):
    """A creator's provider traffic per UTC day, as the provider bills it (OnlyFansAPI.com: a credit per
    uncached API call and per delivered webhook event). Added to in batches (salesbot.providers.credits),
    so the hot path spends no query on it; no database constraint on the creator, so a late batch for a
    deleted creator cannot fail."""

    creator = models.ForeignKey(
        "models_registry.Creator", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    day = models.DateField()
    calls = models.PositiveIntegerField(default=0)
    webhook_events = models.PositiveIntegerField(default=0)
    credits = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "provider usage"
        constraints = [models.UniqueConstraint(fields=["creator", "day"], name="uniq_provider_usage_day")]

    def __str__(self):
        return f"{self.creator_id} {self.day}: {self.credits} credits"

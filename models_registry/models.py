"""Per-creator configuration: everything the seed kept in a copied daemon file per model."""

import secrets
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.dispatch import receiver
from django.utils import timezone
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

from models_registry.encryption import EncryptedTextField
from models_registry.providers import CHOICES as PROVIDER_CHOICES
from models_registry.providers import bounds_problem
from team.models import Autonomy


def new_webhook_secret() -> str:
    return secrets.token_hex(24)


def mask(secret: str) -> str:
    """What staff and logs see instead of a credential."""
    if not secret:
        return "(not set)"
    return f"••••{secret[-4:]}" if len(secret) > 8 else "••••"


# Credentials: their history records only that they changed, never a value (team audit).
SECRET_FIELDS = ("api_key", "webhook_secret")
# Written by the provider's answers and events, not settings anyone edits: left out of the history.
PROVIDER_STATE_FIELDS = (
    "api_paused_until",
    "account_health",
    "account_health_since",
    "webhook_id",
    "webhook_secret_registered",
)


class AccountHealth(models.TextChoices):
    OK = "ok", "OK"
    SESSION_EXPIRED = "session_expired", "session expired: reconnect the account"
    AUTHENTICATION_FAILED = "authentication_failed", "authentication failed: reconnect the account"
    OTP_CODE_REQUIRED = "otp_code_required", "a one-time code is required: enter it at the provider"


class CreatorHistoryBase(models.Model):
    """What each historical Creator row adds to the tracked settings: which credentials changed."""

    keys_changed = models.CharField(
        "keys changed",
        max_length=60,
        blank=True,
        help_text="The credentials this change set or replaced (their values are never kept in history).",
    )

    class Meta:
        abstract = True


class Creator(models.Model):
    class OfferPolicy(models.TextChoices):
        """How the rule engine picks a PPV's price, hook and content (salesbot.pipeline.offers.choose_offer)."""

        LEARNED = "learned", "Learned: Beta posteriors, guarded Thompson exploration"
        LADDER = "ladder", "Playbook ladder: entry price, then the item's price, template hook; no learning"
        RAW_RATES = "raw_rates", "Seed's raw rates: best raw conversion among what was tried (a baseline)"

    slug = models.SlugField(unique=True)
    display_name = models.CharField(max_length=120)
    provider = models.CharField(
        max_length=20,
        choices=PROVIDER_CHOICES,
        default="simple",
        help_text="How this creator's platform is reached: OnlyFansAPI.com for real accounts; the simple "
        "contract is what the fakes and older tests speak.",
    )
    account_id = models.CharField("platform account id", max_length=120, unique=True)
    platform_user_id = models.BigIntegerField("creator's platform user id", null=True, blank=True)
    api_base_url = models.URLField("platform API base URL", default="http://127.0.0.1:8950")
    # Encrypted at rest (models_registry.encryption): the column holds a Fernet token, never the value.
    api_key = EncryptedTextField("platform API key", blank=True)
    webhook_secret = EncryptedTextField(default=new_webhook_secret)
    llm_model = models.CharField("LLM model", max_length=80, default="claude-opus-5-5")
    llm_batch_followups = models.BooleanField(
        "batch the model's follow-ups",
        default=False,
        help_text="The model writes the bumps, rekindles and re-engage messages of fans on its rows (spent $1+ or "
        "9+ messages, or the rules' lines used up) through the Message Batches API: half the model's price for "
        "these non-urgent follow-ups, each delayed by up to the batch's processing time (usually minutes, at "
        "most 24 hours). A fan who writes meanwhile gets the normal reply and the late one is dropped. Off: the "
        "rules write every follow-up at once.",
    )
    enabled = models.BooleanField(
        default=True,
        help_text="Off: nothing is sent for this creator, by the bot or "
        'by a person (the emergency stop; mode "off" lets '
        "people write while the bot is silent).",
    )
    autonomy = models.CharField(
        "mode",
        max_length=10,
        choices=Autonomy.choices,
        default=Autonomy.AUTOPILOT,
        help_text="autopilot: the bot sends; approve: the bot drafts and a person approves each message; off: "
        "the bot never writes, people do (console). A fan can override it. Safety and the contact "
        "rule hold in every mode.",
    )
    excluded_fan_ids = models.JSONField(default=list, blank=True, help_text="Platform fan ids the bot never messages.")
    ppv_min_price = models.DecimalField(
        max_digits=8, decimal_places=2, default=Decimal("5"), validators=[MinValueValidator(Decimal("0.01"))]
    )
    ppv_max_price = models.DecimalField(max_digits=8, decimal_places=2, default=Decimal("100"))
    entry_price = models.DecimalField("entry PPV price", max_digits=8, decimal_places=2, default=Decimal("18"))
    daily_spend_cap = models.DecimalField(
        "per-fan 24h spend cap",
        max_digits=10,
        decimal_places=2,
        default=Decimal("500"),
        help_text="A fan who spent this much in 24 hours gets no more PPV offers until the window passes.",
    )
    custom_approval_limit = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        default=Decimal("500"),
        help_text="Custom requests at or above this amount are handed to a human for approval.",
    )
    restricted_words = models.JSONField(
        default=list, blank=True, help_text="Words the bot must never write (playbook §14)."
    )
    signal_keywords = models.JSONField(
        default=dict,
        blank=True,
        help_text="Per-signal keyword lists (buying, sexual, interest, emotional, "
        "custom_request); a signal left out uses the defaults.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    human_quiet_minutes = models.PositiveIntegerField(
        default=30,
        help_text="After a human writes to a fan in the platform's own UI, the bot stays silent "
        "for that fan this many minutes.",
    )
    campaign_quiet_hours = models.PositiveIntegerField(
        default=24, help_text="A campaign leaves out fans the bot or a person wrote to in the last this many hours."
    )
    reengage_expired = models.BooleanField(
        default=False, help_text="Send a fan whose subscription expired the playbook's re-engage message."
    )
    # The bot's chosen reply delay (salesbot.pipeline.pacing): a reply goes out a random time in this range after
    # the fan's message, with the provider's typing indicator before it; scheduled, never a worker waiting.
    reply_delay_min_s = models.PositiveIntegerField(
        "reply delay from (s)", default=0, help_text="Fans read instant answers as a bot: e.g. 8. 0 and 0: at once."
    )
    reply_delay_max_s = models.PositiveIntegerField("reply delay to (s)", default=0, help_text="e.g. 20.")
    # Response targets for fans who need a person (the inbox shows each conversation within / due soon / breached).
    first_response_minutes = models.PositiveIntegerField(
        default=5, help_text="A fan handed to the people gets a person's first answer within this many minutes."
    )
    next_response_minutes = models.PositiveIntegerField(
        default=15, help_text="After that, each of the fan's messages is answered within this many minutes."
    )
    api_paused_until = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text="The provider's per-minute rate limit is used up: sends wait until then.",
    )
    # The provider's view of the account (salesbot.pipeline.account_health): while its session is dead every
    # send would fail, so sends wait (queued, not failed) until `accounts.reconnected`.
    account_health = models.CharField(
        max_length=40,
        choices=AccountHealth.choices,
        default=AccountHealth.OK,
        editable=False,
        help_text="What the provider last said about the account's session; anything but OK pauses sends.",
    )
    account_health_since = models.DateTimeField(null=True, blank=True, editable=False)
    # The provider's webhook this creator's account is on, and the signing secret it was registered with
    # (salesbot.providers.onlyfansapi.setup); deliveries signed with either secret verify during a rotation.
    webhook_id = models.CharField("provider webhook id", max_length=120, blank=True, editable=False)
    webhook_secret_registered = EncryptedTextField(blank=True, editable=False)
    # Learning (learning.bayes / salesbot.pipeline.rules): how much evidence a cell needs and how much to explore.
    min_sample = models.PositiveIntegerField(
        default=20, help_text="PPVs a price/hook/content cell needs before its rate is trusted (thin below)."
    )
    stats_half_life_days = models.FloatField(
        null=True,
        blank=True,
        validators=[MinValueValidator(0.01)],
        help_text="Time decay of the learning stats: a send this many days old counts half. Empty: no decay.",
    )
    exploration_enabled = models.BooleanField(
        default=True, help_text="Let the rule engine try other prices, hooks and content (Thompson sampling)."
    )
    exploration_share = models.FloatField(
        default=0.2,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="At most this share of rule-engine PPVs explore (0..1): the share is scaled by how many "
        "of the offer's price/hook/content cells are still thin, so exploring fades as evidence fills "
        "in. The rest take the best-evidenced choice.",
    )
    offer_policy = models.CharField(
        max_length=20,
        choices=OfferPolicy.choices,
        default=OfferPolicy.LEARNED,
        help_text="How rule-engine PPVs are priced and worded. The ladder and the seed's raw rates are the "
        "baselines `manage.py simulate` compares the learned offers with.",
    )

    # Who changed which setting, when (admin: History on the creator's page; the team audit page).
    # Credentials are left out (keys_changed says one changed); so is the rate-limit pause, which is not a
    # setting anyone edits.
    history = HistoricalRecords(excluded_fields=[*SECRET_FIELDS, *PROVIDER_STATE_FIELDS], bases=[CreatorHistoryBase])

    class Meta:
        ordering = ["slug"]

    def __str__(self):
        return self.display_name or self.slug

    def __repr__(self):
        return f"<Creator {self.slug} key={mask(self.api_key)} secret={mask(self.webhook_secret)}>"

    def save(self, *args, **kwargs):
        self._keys_changed = self._changed_secrets(kwargs.get("update_fields"))
        super().save(*args, **kwargs)

    def _changed_secrets(self, update_fields=None) -> list[str]:
        """The credentials this save sets or replaces (compared with the stored row, one small read)."""
        candidates = [f for f in SECRET_FIELDS if update_fields is None or f in update_fields]
        if not candidates:
            return []
        stored = (
            None
            if self._state.adding or self.pk is None
            else type(self)._default_manager.filter(pk=self.pk).values_list(*candidates).first()
        )
        if stored is None:
            return [f for f in candidates if getattr(self, f)]
        return [f for f, was in zip(candidates, stored, strict=True) if getattr(self, f) != was]

    def clean(self):
        if self.ppv_min_price is not None and self.ppv_max_price is not None:
            if self.ppv_min_price > self.ppv_max_price:
                raise ValidationError({"ppv_max_price": "The maximum PPV price must be at least the minimum."})
            if self.entry_price is not None and not (self.ppv_min_price <= self.entry_price <= self.ppv_max_price):
                raise ValidationError({"entry_price": "The entry price must lie within the PPV price bounds."})
        if (self.reply_delay_min_s or 0) > (self.reply_delay_max_s or 0):
            raise ValidationError({"reply_delay_max_s": "The reply delay's end must be at least its start."})
        problem = bounds_problem(self.provider, self.ppv_min_price, self.ppv_max_price)
        if problem:
            raise ValidationError({"ppv_max_price" if "maximum" in problem else "ppv_min_price": problem})

    def price_in_bounds(self, price) -> bool:
        return self.ppv_min_price <= Decimal(str(price)) <= self.ppv_max_price

    def is_excluded(self, platform_fan_id: int) -> bool:
        return int(platform_fan_id) in {int(x) for x in (self.excluded_fan_ids or [])}


class Experiment(models.Model):
    """A holdout experiment (learning.experiments): while it runs, each fan who subscribes after it started is
    assigned once, for good, to the `learning` arm or the `control` arm (the playbook ladder, no learned prices,
    no exploration). Stopped experiments stay, with their results; at most one runs per creator."""

    class Arm(models.TextChoices):
        LEARNING = "learning"
        CONTROL = "control"

    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="experiments")
    control_share = models.FloatField(
        default=0.2,
        validators=[MinValueValidator(0.01), MaxValueValidator(0.99)],
        help_text="Share of new fans held out in the control arm (0.01..0.99).",
    )
    started_at = models.DateTimeField(default=timezone.now)
    stopped_at = models.DateTimeField(null=True, blank=True)
    started_by = models.CharField(
        max_length=150, blank=True, help_text="Who started it (the name, kept if the user is deleted)."
    )
    stopped_by = models.CharField(max_length=150, blank=True)
    started_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    stopped_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    population = models.CharField(
        max_length=5,
        default="new",
        choices=[("new", "new subscribers only"), ("all", "all fans in scope")],
        help_text="Who is assigned: fans who subscribe after the start, or every fan "
        "(then each fan's spend before the start reduces the variance: CUPED).",
    )
    harm_limit = models.FloatField(
        default=0.02,
        validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="A guardrail (opt-outs, safety handoffs, expiries, chargebacks per fan) "
        "is breached when the learning arm is worse than the control by more "
        "than this share, by the always-valid interval.",
    )
    stop_on_harm = models.BooleanField(default=False, help_text="Stop the experiment when a guardrail is breached.")
    stop_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["creator", "-started_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["creator"],
                condition=models.Q(stopped_at__isnull=True),
                name="one_running_experiment_per_creator",
            )
        ]

    def __str__(self):
        state = "running" if self.stopped_at is None else "stopped"
        return f"{self.creator.slug}: control {self.control_share:.0%} ({state})"

    @property
    def running(self) -> bool:
        return self.stopped_at is None


class VaultItem(models.Model):
    class Kind(models.TextChoices):
        PHOTO = "photo"
        VIDEO = "video"
        BUNDLE = "bundle"
        SEXTING = "sexting"
        CUSTOM = "custom"

    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="vault_items")
    content_key = models.SlugField(max_length=80)
    kind = models.CharField(max_length=20, choices=Kind.choices, default=Kind.PHOTO)
    media_ids = models.JSONField("platform media ids", default=list, blank=True)
    default_price = models.DecimalField(
        max_digits=8, decimal_places=2, null=True, blank=True, help_text="Empty: free media."
    )
    ladder_tier = models.PositiveSmallIntegerField(default=1, help_text="Escalation ladder step, 0 = free hooks.")
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["creator", "ladder_tier", "content_key"]
        constraints = [models.UniqueConstraint(fields=["creator", "content_key"], name="uniq_vault_key")]

    def __str__(self):
        return self.content_key

    def clean(self):
        if self.default_price is not None and self.creator_id and not self.creator.price_in_bounds(self.default_price):
            raise ValidationError(
                {
                    "default_price": (
                        f"Price must lie within the creator's bounds "
                        f"({self.creator.ppv_min_price}–{self.creator.ppv_max_price})."
                    )
                }
            )


class PlaybookSection(models.Model):
    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="playbook_sections")
    number = models.PositiveSmallIntegerField("§")
    title = models.CharField(max_length=200)
    body = models.TextField("markdown body")
    serves_states = models.JSONField(
        default=list, blank=True, help_text="Fan states whose LLM prompt includes this section."
    )

    class Meta:
        ordering = ["creator", "number"]
        constraints = [models.UniqueConstraint(fields=["creator", "number"], name="uniq_playbook_number")]

    def __str__(self):
        return f"§{self.number} {self.title}"


class ResponseTemplate(models.Model):
    class Kind(models.TextChoices):
        GREETING = "greeting"
        TEASE = "tease"
        REENGAGE = "re-engage"
        BUMP = "bump"
        REKINDLE = "rekindle"
        PPV = "ppv"
        FREE_HOOK = "free_hook"
        AFTERCARE = "aftercare"
        # Answers to what a fan said (salesbot.pipeline.intents); a map without them gets rules' defaults.
        PRICE = "price", 'price (answer to "how much?"; {price} = the waiting offer\'s price)'
        OFFER_YES = "offer_yes", "offer yes (the fan wants the waiting offer)"
        OFFER_NO = "offer_no", "offer no (the fan declines the waiting offer)"
        MORE = "more", "more (the fan asks for more)"
        ABOUT_ME = "about_me", "about me (a question about the creator)"
        COMPLIMENT = "compliment", "compliment (thanks for one)"
        HELLO = "hello", "hello (the fan says hi again)"
        # Sent once to a fan whose subscription expired, when the creator enables `reengage_expired`.
        EXPIRED = "expired", "expired (re-engage a fan whose subscription ran out)"

    creator = models.ForeignKey(Creator, on_delete=models.CASCADE, related_name="templates")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    variants = models.JSONField(
        default=list, help_text="Text variants; a fan never gets the same one twice, {name} is the fan's name."
    )
    content_key = models.SlugField(max_length=80, blank=True, help_text="Vault item sent with this template, if any.")
    hook = models.CharField(max_length=40, blank=True)

    class Meta:
        ordering = ["creator", "kind"]
        constraints = [models.UniqueConstraint(fields=["creator", "kind"], name="uniq_template_kind")]

    def __str__(self):
        return f"{self.creator.slug}:{self.kind}"


@receiver(pre_create_historical_record)
def _note_changed_keys(sender, instance, history_instance, **kwargs):
    if isinstance(instance, Creator):
        labels = {"api_key": "API key", "webhook_secret": "webhook secret"}
        history_instance.keys_changed = ", ".join(labels[f] for f in getattr(instance, "_keys_changed", []))

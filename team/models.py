"""Who works a creator's DMs: managers see every creator, chatters the creators assigned to them; and
how much of the writing the bot may do on its own (Autonomy, set per creator and per fan)."""

from django.conf import settings
from django.db import models


class Autonomy(models.TextChoices):
    AUTOPILOT = "autopilot", "autopilot (the bot sends)"
    APPROVE = "approve", "approve (the bot drafts, a human approves)"
    OFF = "off", "off (the bot never writes; humans do)"


class TeamMember(models.Model):
    class Role(models.TextChoices):
        MANAGER = "manager", "manager (every creator)"
        CHATTER = "chatter", "chatter (the creators assigned)"

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="team_member")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.CHATTER)
    creators = models.ManyToManyField(
        "models_registry.Creator",
        blank=True,
        related_name="team_members",
        help_text="A chatter sees and acts on only these creators' fans.",
    )
    commission_rate = models.DecimalField(
        "commission %",
        max_digits=5,
        decimal_places=2,
        default=0,
        help_text="Share of the sales credited to this person paid as commission (the shift report).",
    )
    capacity = models.PositiveSmallIntegerField(
        default=8, help_text="At most this many fans who need a person are assigned to them at once while on duty."
    )
    last_assigned_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["user__username"]

    def __str__(self):
        return f"{self.user} ({self.role})"

    def save(self, *args, **kwargs):
        super().save(*args, **kwargs)
        from team.roles import apply_role

        apply_role(self)


class Shift(models.Model):
    """A person on duty: clocked in from the inbox, clocked out there (or by a manager)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shifts")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["user"], condition=models.Q(ended_at__isnull=True), name="one_open_shift_per_user"
            )
        ]

    def __str__(self):
        return f"{self.user} from {self.started_at:%Y-%m-%d %H:%M}"


class Snippet(models.Model):
    """A saved reply of the team's ("/" in the inbox's composer); {name} becomes the fan's name."""

    title = models.CharField(max_length=80)
    text = models.TextField()
    creator = models.ForeignKey(
        "models_registry.Creator",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="snippets",
        help_text="Empty: offered for every creator.",
    )

    class Meta:
        ordering = ["title"]

    def __str__(self):
        return self.title

from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    """Mass messages to saved segments (salesbot.campaigns): its own app so its tables and migrations stand apart."""

    name = "salesbot.campaigns"
    label = "campaigns"
    verbose_name = "Campaigns"
    default_auto_field = "django.db.models.BigAutoField"

"""`manage.py register_webhook SLUG --url https://HOST`: register this deployment's webhook with the
creator's provider (OnlyFansAPI.com) for the creator's account, with the events the pipeline handles
and the creator's signing secret; prints the provider's answer. Re-running updates the same webhook."""
from django.core.management.base import BaseCommand, CommandError

from models_registry.models import Creator
from salesbot.providers import onlyfansapi
from salesbot.providers.base import PlatformError

PATH = "/api/providers/onlyfansapi/webhook"


class Command(BaseCommand):
    help = "Register (or update) the deployment's OnlyFansAPI.com webhook for a creator's account."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--url", required=True, help=f"this deployment's public base URL (…{PATH} is added)")

    def handle(self, *args, slug, url, **opts):
        creator = Creator.objects.filter(slug=slug).first()
        if creator is None:
            raise CommandError(f"Unknown creator '{slug}'.")
        if creator.provider != onlyfansapi.NAME:
            raise CommandError(f"Creator '{slug}' uses the {creator.provider} provider, not onlyfansapi.")
        endpoint = url.rstrip("/") + PATH
        try:
            answer = onlyfansapi.Client(creator).register_webhook(endpoint, onlyfansapi.EVENTS,
                                                                  creator.webhook_secret)
        except PlatformError as e:
            raise CommandError(f"The provider refused: {e}") from e
        self.stdout.write(self.style.SUCCESS(f"{'Updated' if answer.pop('updated') else 'Registered'} {endpoint} "
                                             f"for {creator.account_id}: {', '.join(onlyfansapi.EVENTS)}"))
        self.stdout.write(f"  provider's answer: {answer}")

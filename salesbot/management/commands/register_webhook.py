"""`manage.py register_webhook SLUG --url https://HOST`: register this deployment's webhook with the
creator's provider (OnlyFansAPI.com) for the creator's account, with the events the pipeline handles
and the creator's signing secret; prints the provider's answer. Re-running updates the same webhook.
The work is salesbot.providers.onlyfansapi.setup's (the creator admin's action calls it too)."""

from django.core.management.base import BaseCommand, CommandError

from models_registry.models import Creator
from salesbot.providers.onlyfansapi import setup

PATH = setup.WEBHOOK_PATH


class Command(BaseCommand):
    help = "Register (or update) the deployment's OnlyFansAPI.com webhook for a creator's account."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--url", required=True, help=f"this deployment's public base URL (…{PATH} is added)")

    def handle(self, *args, slug, url, **opts):
        creator = Creator.objects.filter(slug=slug).first()
        if creator is None:
            raise CommandError(f"Unknown creator '{slug}'.")
        try:
            done = setup.register_webhook(creator, url)
        except setup.SetupError as e:
            raise CommandError(str(e)) from e
        self.stdout.write(self.style.SUCCESS(done.summary(creator)))
        self.stdout.write(f"  provider's answer: {done.answer}")

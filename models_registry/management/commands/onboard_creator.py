"""Onboard a creator from files, for scripts: the same validation and transaction as the admin form.

Secrets never go on the command line: they are read from environment variables you name, or typed
at a hidden prompt.
"""

import getpass
import os
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand, CommandError

from models_registry.forms import CreatorOnboardingForm
from models_registry.models import mask

OPTION_FIELDS = {
    "display_name": "display_name",
    "account_id": "account_id",
    "platform_user_id": "platform_user_id",
    "api_base_url": "api_base_url",
    "provider": "provider",
    "ppv_min": "ppv_min_price",
    "ppv_max": "ppv_max_price",
    "entry_price": "entry_price",
}


class Command(BaseCommand):
    help = "Create (or with --replace, re-onboard) a creator from a content map JSON and a playbook markdown."

    def add_arguments(self, parser):
        parser.add_argument("slug")
        parser.add_argument("--content-map", required=True, type=Path, help="content-map.json")
        parser.add_argument("--playbook", required=True, type=Path, help="playbook.md (split at '## §N' headings)")
        parser.add_argument("--display-name")
        parser.add_argument("--account-id", help="platform account id (the webhooks' account_id)")
        parser.add_argument("--platform-user-id")
        parser.add_argument(
            "--provider",
            choices=["onlyfansapi", "simple"],
            help="onlyfansapi: a real account through OnlyFansAPI.com; simple: the fakes' contract "
            "(default for a new creator: simple)",
        )
        parser.add_argument("--api-base-url", help="default: the provider's own (onlyfansapi); a stand-in's URL")
        parser.add_argument("--ppv-min", help="minimum PPV price")
        parser.add_argument("--ppv-max", help="maximum PPV price")
        parser.add_argument("--entry-price", help="entry PPV price")
        parser.add_argument("--api-key-env", metavar="VAR", help="read the platform API key from this env variable")
        parser.add_argument(
            "--webhook-secret-env",
            metavar="VAR",
            help="read the webhook secret from this env variable (default: generate one)",
        )
        parser.add_argument(
            "--prompt-secrets", action="store_true", help="type the API key and webhook secret at a hidden prompt"
        )
        parser.add_argument(
            "--replace",
            action="store_true",
            help="re-onboard an existing creator: vault, playbook and templates are replaced",
        )
        parser.add_argument(
            "--show-webhook-secret",
            action="store_true",
            help="print the webhook secret in full (to configure the platform's signing)",
        )

    def handle(self, *args, **opts):
        data = {"slug": opts["slug"], "replace": "on" if opts["replace"] else ""}
        for option, field in OPTION_FIELDS.items():
            if opts[option] is not None:
                data[field] = opts[option]
        data["api_key"] = self._secret(opts, "api_key_env", "Platform API key")
        data["webhook_secret"] = self._secret(opts, "webhook_secret_env", "Webhook secret (empty: generate)")
        files = {"content_map": self._upload(opts["content_map"]), "playbook": self._upload(opts["playbook"])}
        form = CreatorOnboardingForm(data, files, for_staff=False)
        creator = None
        if form.is_valid():
            try:
                creator = form.save()
            except ValidationError:
                pass  # the form now carries the messages
        if creator is None:
            lines = [
                f"  {'form' if name == '__all__' else name}: {message}"
                for name, messages in form.errors.items()
                for message in messages
            ]
            raise CommandError("The creator was not onboarded:\n" + "\n".join(lines))
        self._summary(creator, form, opts["show_webhook_secret"])

    def _secret(self, opts, option, prompt) -> str:
        var = opts[option]
        if var:
            if var not in os.environ:
                raise CommandError(f"--{option.replace('_', '-')}: the environment variable {var} is not set.")
            return os.environ[var]
        if opts["prompt_secrets"]:
            return getpass.getpass(f"{prompt}: ")
        return ""

    def _upload(self, path: Path) -> SimpleUploadedFile:
        try:
            return SimpleUploadedFile(path.name, path.read_bytes())
        except OSError as e:
            raise CommandError(f"Cannot read {path}: {e.strerror}.") from e

    def _summary(self, creator, form, show_secret: bool):
        sections = ", ".join(f"§{s.number} {s.title}" for s in form.sections)
        secret = creator.webhook_secret if show_secret else mask(creator.webhook_secret)
        w = self.stdout.write
        w(self.style.SUCCESS(f"Creator '{creator.slug}' onboarded ({creator.display_name})."))
        w(f"  provider:       {creator.get_provider_display()}")
        w(f"  account id:     {creator.account_id}")
        w(f"  API base URL:   {creator.api_base_url}")
        w(f"  API key:        {mask(creator.api_key)}")
        w(f"  webhook secret: {secret}")
        w(f"  prices:         {creator.ppv_min_price}–{creator.ppv_max_price}, entry {creator.entry_price}")
        w(f"  vault items:    {creator.vault_items.count()}")
        w(f"  templates:      {', '.join(creator.templates.values_list('kind', flat=True)) or '(none)'}")
        w(f"  playbook:       {len(form.sections)} sections: {sections}")

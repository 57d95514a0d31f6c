"""Admin forms for creator configuration: onboarding from files, and edits that keep the
vault, playbook and templates consistent with each other."""

import json
from decimal import Decimal

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError

from fans.state_machine import FanState
from models_registry import selectors
from models_registry.models import Creator, PlaybookSection, ResponseTemplate, VaultItem
from models_registry.providers import CHOICES as PROVIDER_CHOICES
from models_registry.providers import ONLYFANSAPI_BASE_URL, bounds_problem
from models_registry.services import (
    content_map_problems,
    json_lines,
    line_of,
    onboard_creator,
    parse_playbook,
    variant_problems,
)
from team.models import Autonomy

MAX_UPLOAD_BYTES = 2 * 1024 * 1024
CREATOR_FIELDS = [
    "display_name",
    "provider",
    "account_id",
    "platform_user_id",
    "api_base_url",
    "api_key",
    "webhook_secret",
    "ppv_min_price",
    "ppv_max_price",
    "entry_price",
]
PRICE_KW = {"required": False, "max_digits": 8, "decimal_places": 2, "min_value": Decimal("0.01")}


def _secret_field(help_text, label=None):
    return forms.CharField(
        required=False, strip=True, widget=forms.PasswordInput(render_value=False), help_text=help_text, label=label
    )


class CreatorForm(forms.ModelForm):
    """Credentials are write-only: an empty field keeps the stored value."""

    api_key = _secret_field("Write-only. Leave empty to keep the current key.", label="Platform API key")
    webhook_secret = _secret_field("Write-only. Leave empty to keep the current secret.", label="Webhook secret")

    class Meta:
        model = Creator
        fields = "__all__"
        widgets = {
            "excluded_fan_ids": forms.Textarea(attrs={"rows": 1, "cols": 60}),
            "restricted_words": forms.Textarea(attrs={"rows": 2, "cols": 60}),
            "signal_keywords": forms.Textarea(attrs={"rows": 3, "cols": 60}),
        }

    def clean(self):
        data = super().clean()
        for field in ("api_key", "webhook_secret"):
            if not data.get(field) and self.instance.pk:
                data[field] = getattr(self.instance, field)
        if not data.get("webhook_secret"):
            data["webhook_secret"] = Creator._meta.get_field("webhook_secret").get_default()
        return data


def _read_upload(upload, what: str) -> str:
    if upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(f"The {what} is larger than {MAX_UPLOAD_BYTES // 1024} KB.")
    try:
        return upload.read().decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(f"The {what} is not UTF-8 text.") from None


def offered_providers() -> list[tuple[str, str]]:
    """OnlyFansAPI.com always; the simple contract (what the fakes speak) only in development (DEBUG) or where
    ONBOARDING_SIMPLE_PROVIDER says so."""
    if settings.DEBUG or getattr(settings, "ONBOARDING_SIMPLE_PROVIDER", False):
        return PROVIDER_CHOICES
    return [(name, label) for name, label in PROVIDER_CHOICES if name != "simple"]


class CreatorOnboardingForm(forms.Form):
    """One form for a new creator: account, write-only keys, price bounds, content map and playbook.

    Fields left empty take the content map's "creator" object, then the defaults (OnlyFansAPI.com at its own
    base URL). Every problem of the two files is reported at once, each with its line. The files survive a
    failed submit: `stash` (the admin keeps it in the session under the form's upload_token) holds each one's
    name and text, so a second submit re-uploads only what changed. A new creator starts in `approve` mode.
    """

    FILES = {"content_map": "content map", "playbook": "playbook"}
    required_css_class = "required"

    slug = forms.SlugField(max_length=50, help_text="Short id used in URLs: /api/<slug>/…")
    display_name = forms.CharField(required=False, max_length=120)
    provider = forms.ChoiceField(
        choices=PROVIDER_CHOICES,
        required=False,
        initial="onlyfansapi",
        help_text="How the creator's account is reached.",
    )
    account_id = forms.CharField(
        label="Platform account id",
        required=False,
        max_length=120,
        help_text="The account_id the platform puts in every webhook (acct_…).",
    )
    platform_user_id = forms.IntegerField(label="Creator's platform user id", required=False, min_value=1)
    api_base_url = forms.URLField(
        label="Platform API base URL",
        required=False,
        assume_scheme="https",
        help_text=f"Leave empty for OnlyFansAPI.com's own API ({ONLYFANSAPI_BASE_URL}); "
        f"give one only to point the creator at a stand-in.",
    )
    api_key = _secret_field("Write-only: stored, never shown again. Test it before saving.", label="Platform API key")
    webhook_secret = _secret_field("Write-only. Leave empty to generate one.", label="Webhook secret")
    ppv_min_price = forms.DecimalField(label="Minimum PPV price", **PRICE_KW)
    ppv_max_price = forms.DecimalField(label="Maximum PPV price", **PRICE_KW)
    entry_price = forms.DecimalField(label="Entry PPV price", **PRICE_KW)
    content_map = forms.FileField(
        label="Content map (JSON)",
        required=False,
        help_text="Vault items, templates and restricted words (see the example).",
    )
    playbook = forms.FileField(
        label="Playbook (Markdown)",
        required=False,
        help_text="Split into sections at headings like '## §4 Strategy for new fans'.",
    )
    upload_token = forms.CharField(required=False, widget=forms.HiddenInput)
    replace = forms.BooleanField(
        required=False,
        label="Replace an existing creator",
        help_text="Re-onboard a creator that exists: its vault, playbook and templates are "
        "replaced by the uploaded files (its mode stays as it is).",
    )

    def __init__(self, *args, stash=None, for_staff=True, **kwargs):
        """`for_staff` (the admin form): a new creator is on OnlyFansAPI.com unless said otherwise, needs its
        key and starts in approve mode; the simple contract is offered only in development. The
        onboard_creator command passes False: its documented defaults (simple, the model's mode) stay."""
        super().__init__(*args, **kwargs)
        self.sections = []
        self.stash = {} if stash is None else stash
        self.for_staff = for_staff
        self.fields["provider"].choices = offered_providers() if for_staff else PROVIDER_CHOICES
        self.map_lines = {}

    @property
    def earlier(self) -> dict:
        """The name of each file kept from an earlier submit (shown beside its field)."""
        return {name: (self.stash.get(name) or {}).get("name") for name in self.FILES}

    def _text(self, name) -> str | None:
        """The field's file: the one uploaded now (kept for the next submit), else the one kept earlier."""
        upload = self.cleaned_data.get(name)
        if upload:
            text = _read_upload(upload, self.FILES[name])
            self.stash[name] = {"name": upload.name, "text": text}
            return text
        if self.stash.get(name):
            return self.stash[name]["text"]
        raise ValidationError(f"Choose the {self.FILES[name]} file.", code="required")

    def clean_provider(self):
        return self.cleaned_data.get("provider") or ""

    def clean_content_map(self):
        text = self._text("content_map")
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise ValidationError(
                f"The content map is not valid JSON: {e.msg} at line {e.lineno}, column {e.colno}."
            ) from e
        if not isinstance(data, dict):
            raise ValidationError("The content map must be a JSON object.")
        self.map_lines = json_lines(text)
        problems = content_map_problems(data)
        if problems:  # structural problems first; clean() adds the price problems to them
            self.map_problems = problems
        return data

    def clean_playbook(self):
        text = self._text("playbook")
        self.sections = parse_playbook(text)
        return text

    def map_error(self, path, message) -> str:
        line = line_of(self.map_lines, path)
        return f"line {line}: {message}" if line else message

    def clean(self):
        data = super().clean()
        slug = data.get("slug")
        existing = Creator.objects.filter(slug=slug).first() if slug else None
        if existing and not data.get("replace"):
            self.add_error(
                "slug",
                f"A creator '{slug}' already exists. Tick 'Replace an existing creator' "
                "(--replace) to re-onboard it, or choose another slug.",
            )
        self.new_creator = existing is None
        if isinstance(data.get("content_map"), dict):
            problems = list(getattr(self, "map_problems", []))
            problems += self._check_prices(data)
            if problems:
                self.add_error("content_map", [self.map_error(path, message) for path, message in problems])
                data.pop("content_map", None)
        if (
            self.for_staff
            and self.new_creator
            and self.effective("provider", data) == "onlyfansapi"
            and not data.get("api_key")
        ):
            self.add_error("api_key", "OnlyFansAPI.com needs the API key (from the provider's dashboard).")
        return data

    def effective(self, name, data):
        """The value onboarding will use: this form, else the content map's creator object, else the creator's
        current value (when replacing), else the default (a new creator is on OnlyFansAPI.com)."""
        if data.get(name) not in (None, ""):
            return data[name]
        content_map = data.get("content_map") if isinstance(data.get("content_map"), dict) else {}
        from_map = content_map.get("creator", {}).get(name) if isinstance(content_map.get("creator"), dict) else None
        if from_map not in (None, ""):
            return from_map
        existing = Creator.objects.filter(slug=data.get("slug")).first() if data.get("replace") else None
        if existing:
            return getattr(existing, name)
        if name == "provider" and self.for_staff:
            return "onlyfansapi"
        return Creator._meta.get_field(name).get_default()

    def _check_prices(self, data) -> list[tuple[tuple, str]]:
        """Problems of the bounds go on their fields; a vault price outside them is returned, with its path."""
        try:
            low, high, entry = (
                Decimal(str(self.effective(n, data))) for n in ("ppv_min_price", "ppv_max_price", "entry_price")
            )
        except ArithmeticError:
            return [(("creator",), "The content map's creator prices must be numbers.")]
        if low > high:
            self.add_error("ppv_max_price", f"The maximum PPV price ({high}) is below the minimum ({low}).")
            return []
        problem = bounds_problem(self.effective("provider", data), low, high)
        if problem:
            self.add_error("ppv_max_price" if "maximum" in problem else "ppv_min_price", problem)
            return []
        if not low <= entry <= high:
            self.add_error("entry_price", f"The entry price {entry} is outside the price bounds {low}–{high}.")
        problems = []
        for i, item in enumerate(data["content_map"].get("vault") or []):
            if not isinstance(item, dict):
                continue
            try:
                price = item.get("price")
                outside = price is not None and not low <= Decimal(str(price)) <= high
            except ArithmeticError:
                continue  # reported as "not a number"
            if outside:
                problems.append(
                    (
                        ("vault", i, "price"),
                        f"Vault item {i + 1} '{item.get('content_key')}': price "
                        f"{price} is outside the price bounds {low}–{high}.",
                    )
                )
        return problems

    def save(self) -> Creator:
        """Create (or replace) the creator with vault, playbook and templates in one transaction; a new
        creator starts in `approve` mode (nothing goes out before a person has looked).

        A ValidationError from the model layer (e.g. an account id already taken) is put on the form and re-raised.
        """
        data = self.cleaned_data
        fields = {name: data.get(name) for name in CREATOR_FIELDS}
        fields["provider"] = self.effective("provider", data)
        if self.new_creator and self.for_staff:
            fields["autonomy"] = Autonomy.APPROVE
        try:
            return onboard_creator(data["content_map"], data["playbook"], slug=data["slug"], **fields)
        except ValidationError as e:
            if hasattr(e, "error_dict"):
                for name, errors in e.message_dict.items():
                    field = name if name in self.fields else None
                    self.add_error(field, errors if field else [f"{name}: {m}" for m in errors])
            else:
                self.add_error(None, e.messages)
            raise


class VaultItemForm(forms.ModelForm):
    """A content key that templates send cannot be renamed away silently."""

    class Meta:
        model = VaultItem
        fields = "__all__"
        widgets = {
            "media_ids": forms.TextInput(attrs={"size": 16}),
            "description": forms.Textarea(attrs={"rows": 1, "cols": 36}),
        }

    def clean_content_key(self):
        new = self.cleaned_data["content_key"]
        old = self.instance.content_key if self.instance.pk else None
        if old and new != old:
            kinds = list(selectors.templates_using(self.instance.creator_id, old).values_list("kind", flat=True))
            if kinds:
                raise ValidationError(
                    f"'{old}' is sent by the {', '.join(sorted(kinds))} template(s): change those "
                    f"templates first, then rename the item."
                )
        return new


class VaultInlineFormSet(forms.BaseInlineFormSet):
    """On the creator page: deleting a vault item that templates still send is refused with a message."""

    def clean(self):
        super().clean()
        for form in self.deleted_forms:
            item = form.instance
            if item.pk:
                kinds = list(
                    selectors.templates_using(item.creator_id, item.content_key).values_list("kind", flat=True)
                )
                if kinds:
                    raise ValidationError(selectors.refusal(item, kinds))


class PlaybookSectionForm(forms.ModelForm):
    class Meta:
        model = PlaybookSection
        fields = "__all__"

    def clean_serves_states(self):
        states = self.cleaned_data.get("serves_states") or []
        if not isinstance(states, list) or not all(isinstance(s, str) for s in states):
            raise ValidationError('Give a JSON list of fan states, e.g. ["engaged", "pitched"].')
        unknown = sorted(set(states) - set(FanState.values))
        if unknown:
            raise ValidationError(f"Unknown fan state(s): {', '.join(unknown)}. Known: {', '.join(FanState.values)}.")
        return states

    def clean_body(self):
        body = self.cleaned_data["body"].strip()
        if not body:
            raise ValidationError("A playbook section needs a body.")
        return body


class ResponseTemplateForm(forms.ModelForm):
    class Meta:
        model = ResponseTemplate
        fields = "__all__"

    def clean_variants(self):
        variants = self.cleaned_data.get("variants")
        if (
            not isinstance(variants, list)
            or not variants
            or not all(isinstance(v, str) and v.strip() for v in variants)
        ):
            raise ValidationError('Give a non-empty JSON list of texts, e.g. ["hey {name} 💕"].')
        return variants

    def clean(self):
        data = super().clean()
        if "variants" in data and data.get("kind"):
            for problem in variant_problems(data["kind"], data["variants"]):
                self.add_error("variants", problem)
        creator, key = data.get("creator"), data.get("content_key")
        if creator and key and not VaultItem.objects.filter(creator=creator, content_key=key).exists():
            self.add_error("content_key", f"'{key}' is not in {creator.slug}'s vault.")
        return data

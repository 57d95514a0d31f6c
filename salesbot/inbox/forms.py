"""The forms a person fills in the inbox; each parses its own fields, so the services get typed values and a
bad value comes back beside the field in plain words (never a 500, never a lost message)."""

from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator


def _no_nul(value: str) -> str:
    if "\x00" in (value or ""):
        raise forms.ValidationError("The text contains a character that cannot be sent.")
    return value


class ComposerForm(forms.Form):
    """A message, or a vault item with its price. `seen` is the newest fan message the person had on screen:
    the send is held if the fan wrote after it."""

    text = forms.CharField(
        required=False,
        max_length=5000,
        strip=True,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": 'Write a message… ("/" for saved replies)'}),
    )
    content_key = forms.CharField(required=False, max_length=80)
    price = forms.DecimalField(
        required=False,
        max_digits=8,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100000"))],
        error_messages={
            "invalid": "Write the price as a number of dollars, like 25 or 25.50.",
            "max_decimal_places": "Use at most two decimals for the price.",
            "max_digits": "That price is too large.",
        },
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "placeholder": "price $"}),
    )
    seen = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def clean_text(self):
        return _no_nul(self.cleaned_data["text"])

    def clean(self):
        data = super().clean()
        if not self.errors and not data.get("text") and not data.get("content_key"):
            raise forms.ValidationError("Write a message or choose something from the vault.")
        return data


class HandoffForm(forms.Form):
    reason = forms.CharField(
        required=False, max_length=200, widget=forms.TextInput(attrs={"placeholder": "why a person takes over"})
    )

    def clean_reason(self):
        return _no_nul(self.cleaned_data["reason"])


class ClearFlagForm(forms.Form):
    reason = forms.CharField(
        min_length=5,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={
            "required": "Write why the flag can be cleared.",
            "min_length": "Write why the flag can be cleared (a few words).",
        },
    )
    confirm = forms.BooleanField(
        label="I have read the conversation and the fan is safe to sell to",
        error_messages={"required": "Tick the box to confirm."},
    )

    def clean_reason(self):
        return _no_nul(self.cleaned_data["reason"])


class NoteForm(forms.Form):
    note = forms.CharField(
        max_length=1000, widget=forms.Textarea(attrs={"rows": 2, "placeholder": "a note for the team"})
    )

    def clean_note(self):
        return _no_nul(self.cleaned_data["note"])


class DraftEditForm(forms.Form):
    """A bot draft edited before it goes: empty fields keep what the bot drafted."""

    text = forms.CharField(required=False, max_length=5000)
    content_key = forms.CharField(required=False, max_length=80)
    price = forms.DecimalField(
        required=False,
        max_digits=8,
        decimal_places=2,
        min_value=0,
        error_messages={"invalid": "Write the price as a number of dollars, like 25 or 25.50."},
    )

    def clean_text(self):
        return _no_nul(self.cleaned_data["text"])

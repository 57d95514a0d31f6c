"""The provider seam: each creator reaches the platform through one provider (Creator.provider), and
one module per provider holds its whole wire format: webhook signature and parsing into the project's
own events (salesbot.pipeline.events), and its HTTP client. Nothing else knows which provider it is.

A provider module offers: NAME, KNOWN_EVENTS, verify(secret, body, meta), inbound(data, meta) ->
Envelope, parse_stored(body, event_id) -> (Envelope, Event | None), Client(creator)."""

from importlib import import_module

from models_registry.providers import NAMES


def get(name: str):
    """The provider module for a name in NAMES (KeyError otherwise)."""
    if name not in NAMES:
        raise KeyError(f"unknown provider '{name}'")
    return import_module(f"salesbot.providers.{name}")


def client_for(creator):
    """The creator's provider's HTTP client."""
    return get(creator.provider).Client(creator)

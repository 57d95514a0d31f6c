"""Webhook intake: verify, persist, acknowledge; processing happens in a django-q2 task that drains the
stored events (salesbot.pipeline.queue.wake_drain), so a webhook costs one INSERT and one flag read."""

import logging
from contextlib import nullcontext

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, connection, transaction
from django.http import Http404
from drf_spectacular.utils import extend_schema_view
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

import sqlonce
from models_registry.models import Creator
from salesbot import providers
from salesbot.api import schemas
from salesbot.models import WebhookEvent
from salesbot.pipeline import events, presence, queue
from salesbot.providers import credits
from salesbot.providers import simple as wh

log = logging.getLogger(__name__)
# All intake needs of the creator: skips decoding its JSON and decimal settings on every webhook.
CREATOR_FIELDS = Creator.objects.only(
    "id", "slug", "account_id", "webhook_secret", "webhook_secret_registered", "provider"
)

# Every webhook reads its creator (sqlonce: compiled once).
_BY_SLUG = sqlonce.objects(lambda slug: CREATOR_FIELDS.filter(slug=slug).order_by(), str)


class WebhookView(APIView):
    """The simple contract's endpoints. Signed by the platform, so no staff token; CSRF does not apply."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request, kind: str, creator_slug: str | None = None):
        allowed = wh.ENDPOINT_EVENTS.get(kind, ...)
        if allowed is ...:
            return Response({"error": f"unknown webhook '{kind}'"}, status=status.HTTP_404_NOT_FOUND)
        creator = None
        if creator_slug:
            creator = _BY_SLUG.first(creator_slug)
            if creator is None:
                raise Http404("No Creator matches the given query.")  # as get_object_or_404 says it
        try:
            body = request.body
        except RequestDataTooBig:
            return too_large(request, creator_slug)
        try:
            data, problem = wh.parse_json(body), None
        except wh.WebhookError as e:  # answered after the signature check, like every other bad body
            data, problem = None, e
        if creator is None:
            creator = _creator_by_account(data)
            if creator is None:
                return Response({"error": "unknown or missing account_id"}, status=status.HTTP_401_UNAUTHORIZED)
        if creator.provider != wh.NAME:
            return Response(
                {"error": f"this creator's webhooks go to /api/providers/{creator.provider}/webhook"},
                status=status.HTTP_404_NOT_FOUND,
            )
        if not wh.verify(creator.webhook_secret, body, request.META):
            log.warning("webhook for %s refused: bad or missing signature", creator.slug)
            return Response({"error": "bad or missing X-Signature"}, status=status.HTTP_401_UNAUTHORIZED)
        credits.count(creator.pk, events=1)  # a delivered event is billed, kept or not
        return accept(creator, kind, body, data, problem, allowed)


@extend_schema_view(post=schemas.webhook(per_creator=True))
class CreatorWebhookView(WebhookView):
    """/api/<creator_slug>/webhook/<kind>: the creator comes from the path."""


@extend_schema_view(post=schemas.webhook(per_creator=False))
class AccountWebhookView(WebhookView):
    """/api/webhook/<kind>: the creator comes from the body's account_id."""


def too_large(request, creator_slug: str | None) -> Response:
    """A body over DATA_UPLOAD_MAX_MEMORY_SIZE is refused unread. Its signature cannot be checked without
    reading it, so, like a bad signature, it is logged and not stored; the 413 tells the platform it was
    not taken."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    error = (
        f"body of {request.META.get('CONTENT_LENGTH')} bytes is over the webhook size limit of {limit} bytes "
        f"({limit / 2**20:g} MB)"
    )
    log.warning("webhook for %s refused: %s", creator_slug or "the account-routed endpoint", error)
    return Response({"error": error, "limit_bytes": limit}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE)


def _creator_by_account(data: dict | None):
    account_id = (data or {}).get("account_id")
    return CREATOR_FIELDS.filter(account_id=account_id).first() if isinstance(account_id, str) else None


def _one_statement():
    """The INSERT is its own transaction in autocommit (as served), and a duplicate's IntegrityError
    leaves the connection usable: BEGIN/COMMIT round trips are only needed inside an outer transaction."""
    return transaction.atomic() if connection.in_atomic_block else nullcontext()


def accept(creator, kind: str, body: bytes, data: dict | None, problem: Exception | None, allowed) -> Response:
    try:
        if problem is not None:
            raise problem
        env = wh.parse_envelope(data)
        if env.account_id != creator.account_id:
            raise wh.WebhookError(f"account_id '{env.account_id}' does not belong to creator '{creator.slug}'")
        if allowed is not None and env.event not in allowed:
            raise wh.WebhookError(f"event '{env.event}' is not accepted at /webhook/{kind}")
        wh.parse_event(env)
    except wh.WebhookError as e:
        return refuse(creator, kind, body, e)
    return store(creator, kind, body, env, known=env.event in wh.KNOWN_EVENTS)


def _raw(body: bytes) -> str:
    # Kept for staff to inspect and replay; PostgreSQL text cannot hold NUL, which only a body we
    # refuse can carry raw (valid JSON escapes it), so it is replaced rather than crash the request.
    return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


def refuse(creator, endpoint: str, body: bytes, error: Exception) -> Response:
    """A body we cannot use: stored as failed (visible, replayable once corrected) and answered 400."""
    WebhookEvent.objects.create(
        creator=creator, endpoint=endpoint, raw_body=_raw(body), status=WebhookEvent.Status.FAILED, error=str(error)
    )
    return Response({"error": str(error)}, status=status.HTTP_400_BAD_REQUEST)


def keep_failed(creator, endpoint: str, body: bytes, error: Exception, event_id=None, event="") -> Response:
    """An authenticated body the parser cannot use (yet): stored as failed under its key (a retry is a
    duplicate; staff replay it once the parser knows it) and answered 2xx, because the provider cannot fix
    it: a non-2xx would only be retried, charged and counted toward pausing the endpoint."""
    try:
        with _one_statement():
            WebhookEvent.objects.create(
                creator=creator,
                endpoint=endpoint,
                raw_body=_raw(body),
                event_id=event_id,
                event=(event or "")[: events.MAX_EVENT],
                status=WebhookEvent.Status.FAILED,
                error=str(error),
            )
    except IntegrityError:
        return Response({"status": "duplicate", "event_id": event_id})
    log.warning("%s webhook for %s kept as failed: %s", endpoint, creator.slug, error)
    return Response({"status": "failed", "event_id": event_id, "error": str(error)})


def store(creator, endpoint: str, body: bytes, env, known: bool) -> Response:
    """Store the event once under its dedupe key (a repeat is a duplicate), then wake the drain."""
    try:
        with _one_statement():
            sqlonce.insert(
                WebhookEvent(
                    creator=creator,
                    event_id=env.event_id,
                    event=env.event,
                    endpoint=endpoint,
                    raw_body=_raw(body),
                    status=WebhookEvent.Status.RECEIVED if known else WebhookEvent.Status.IGNORED,
                )
            )
    except IntegrityError:
        return Response({"status": "duplicate", "event_id": env.event_id})
    if not known:
        return Response({"status": "ignored", "event_id": env.event_id})
    try:  # the stored row is the queue entry; this only makes sure a drain task will look at it
        queue.wake_drain()
    except Exception:  # the event is stored; the sweeper processes it
        log.exception("could not queue a drain for webhook event %s; the sweeper will process it", env.event_id)
    return Response({"status": "accepted", "event_id": env.event_id})


@extend_schema_view(post=schemas.provider_webhook())
class ProviderWebhookView(APIView):
    """/api/providers/<provider>/webhook: one URL per deployment and provider; the creator is found by the
    body's account_id among that provider's creators, the signature checked with the creator's secret."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request, provider: str):
        try:
            impl = providers.get(provider)
        except KeyError:
            return Response({"error": f"unknown provider '{provider}'"}, status=status.HTTP_404_NOT_FOUND)
        try:
            body = request.body
        except RequestDataTooBig:
            return too_large(request, f"provider {provider}")
        try:
            data, problem = events.parse_json(body), None
        except events.WebhookError as e:
            data, problem = None, e
        account_id = (data or {}).get("account_id")
        creator = (
            CREATOR_FIELDS.filter(account_id=account_id, provider=provider).first()
            if isinstance(account_id, str)
            else None
        )
        if creator is None:
            return Response({"error": "unknown or missing account_id"}, status=status.HTTP_401_UNAUTHORIZED)
        # During a secret rotation the provider signs with the secret it was registered with, then the new one.
        secrets = {creator.webhook_secret, creator.webhook_secret_registered} - {""}
        if not any(impl.verify(secret, body, request.META) for secret in secrets):
            log.warning("%s webhook for %s refused: bad or missing signature", provider, creator.slug)
            return Response({"error": "bad or missing signature"}, status=status.HTTP_401_UNAUTHORIZED)
        credits.count(creator.pk, events=1)  # a delivered event is billed, ephemeral, duplicate or kept
        env = None
        try:
            if problem is not None:
                raise problem
            env = impl.inbound(data, request.META)
            if env.event_id is None:  # ephemeral (typing, online): applied now, nothing to keep
                seen = impl.parse_presence(env) if hasattr(impl, "parse_presence") else None
                if seen is not None:
                    presence.apply(creator, seen)
                return Response({"status": "ignored"})
            impl.parse_event(env)
        except events.WebhookError as e:
            key = env.event_id if env is not None else _header_key(impl, request.META)
            event = env.event if env is not None else str((data or {}).get("event") or "")
            return keep_failed(creator, provider, body, e, event_id=key, event=event)
        return store(creator, provider, body, env, known=env.event in impl.KNOWN_EVENTS)


def _header_key(impl, meta) -> str | None:
    key = (meta.get(getattr(impl, "IDEMPOTENCY_HEADER", "")) or "").strip()
    return key if key and len(key) <= events.MAX_EVENT_ID else None

"""Webhook intake: verify, persist, acknowledge; processing happens in a django-q2 task."""
import logging

from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from django_q.tasks import async_task
from drf_spectacular.utils import extend_schema_view
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from models_registry.models import Creator
from salesbot import webhooks as wh
from salesbot.api import schemas
from salesbot.models import WebhookEvent

log = logging.getLogger(__name__)


class WebhookView(APIView):
    """Signed by the platform, so no staff token; CSRF does not apply."""

    authentication_classes: list = []
    permission_classes = [AllowAny]

    def post(self, request, kind: str, creator_slug: str | None = None):
        body = request.body
        allowed = wh.ENDPOINT_EVENTS.get(kind, ...)
        if allowed is ...:
            return Response({"error": f"unknown webhook '{kind}'"}, status=status.HTTP_404_NOT_FOUND)
        if creator_slug:
            creator = get_object_or_404(Creator, slug=creator_slug)
        else:
            creator = _creator_by_account(body)
            if creator is None:
                return Response({"error": "unknown or missing account_id"}, status=status.HTTP_401_UNAUTHORIZED)
        if not wh.signature_ok(creator.webhook_secret, body, request.META.get(wh.SIGNATURE_HEADER)):
            log.warning("webhook for %s refused: bad or missing signature", creator.slug)
            return Response({"error": "bad or missing X-Signature"}, status=status.HTTP_401_UNAUTHORIZED)
        return accept(creator, kind, body, allowed)


@extend_schema_view(post=schemas.webhook(per_creator=True))
class CreatorWebhookView(WebhookView):
    """/api/<creator_slug>/webhook/<kind>: the creator comes from the path."""


@extend_schema_view(post=schemas.webhook(per_creator=False))
class AccountWebhookView(WebhookView):
    """/api/webhook/<kind>: the creator comes from the body's account_id."""


def _creator_by_account(body: bytes):
    try:
        account_id = wh.parse_json(body).get("account_id")
    except wh.WebhookError:
        return None
    return Creator.objects.filter(account_id=account_id).first() if isinstance(account_id, str) else None


def accept(creator, kind: str, body: bytes, allowed) -> Response:
    # Kept for staff to inspect and replay; PostgreSQL text cannot hold NUL, which only a body we
    # refuse can carry raw (valid JSON escapes it), so it is replaced rather than crash the request.
    raw = body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")
    try:
        env = wh.parse_envelope(wh.parse_json(body))
        if env.account_id != creator.account_id:
            raise wh.WebhookError(f"account_id '{env.account_id}' does not belong to creator '{creator.slug}'")
        if allowed is not None and env.event not in allowed:
            raise wh.WebhookError(f"event '{env.event}' is not accepted at /webhook/{kind}")
        wh.validate_payload(env)
    except wh.WebhookError as e:
        WebhookEvent.objects.create(creator=creator, endpoint=kind, raw_body=raw, status=WebhookEvent.Status.FAILED,
                                    error=str(e))
        return Response({"error": str(e)}, status=status.HTTP_400_BAD_REQUEST)
    try:
        with transaction.atomic():
            event = WebhookEvent.objects.create(creator=creator, event_id=env.event_id, event=env.event,
                                                endpoint=kind, raw_body=raw)
    except IntegrityError:
        return Response({"status": "duplicate", "event_id": env.event_id})
    if env.event not in wh.KNOWN_EVENTS:
        WebhookEvent.objects.filter(pk=event.pk).update(status=WebhookEvent.Status.IGNORED)
        return Response({"status": "ignored", "event_id": env.event_id})
    try:
        async_task("salesbot.tasks.process_webhook", event.pk, group="webhooks")
    except Exception:  # the event is stored; the sweeper replays it
        log.exception("could not enqueue webhook event %s; the sweeper will replay it", event.pk)
    return Response({"status": "accepted", "event_id": env.event_id})

"""Humans in the loop over the ops API: the creator's mode, the drafts to approve, sales credit per sender.
Thin: the moves are salesbot.pipeline.drafts, the numbers salesbot.team_performance."""
from django.shortcuts import get_object_or_404
from rest_framework.decorators import api_view, permission_classes
from rest_framework.response import Response

from models_registry.models import Creator
from salesbot.api import schemas
from salesbot.api.permissions import DraftWorker
from salesbot.models import Draft
from salesbot.pipeline import autonomy, drafts
from team.models import Autonomy


def _creator(slug) -> Creator:
    return get_object_or_404(Creator, slug=slug)


@schemas.team("The creator's mode (GET), or set it (POST, needs change_creator)", schemas.ModeSerializer,
        request=schemas.ModeSerializer)
@api_view(["GET", "POST"])
def mode(request, creator_slug):
    creator = _creator(creator_slug)
    if request.method == "POST":
        body = schemas.ModeSerializer(data=request.data)
        if not body.is_valid():
            return Response({"error": f"mode must be one of {', '.join(Autonomy.values)}"}, status=400)
        autonomy.set_creator_mode(creator, body.validated_data["mode"], request.user)
    return Response({"mode": creator.autonomy})


def draft_json(d: Draft, messages=True) -> dict:
    body = {"id": d.pk, "fan_id": d.fan.fan_id, "fan_name": d.fan.name, "status": d.status, "action": d.action,
            "text": d.text, "content_key": d.content_key, "price": float(d.price) if d.price is not None else None,
            "hook": d.hook, "source": d.source, "reason": d.reason, "created_at": d.created_at,
            "waiting_since": d.waiting_since, "total_spent": float(d.fan.total_spent),
            "whale_score": d.fan.whale_score}
    if messages:
        body["last_messages"] = [{"direction": m.direction, "text": m.text, "ts": m.ts}
                                 for m in drafts.last_messages(d.fan)]
    return body


@schemas.team("Open drafts, most urgent first (spend, whale score, waiting time), with the fan's last messages")
@api_view(["GET"])
@permission_classes([DraftWorker])
def draft_list(request, creator_slug):
    creator = _creator(creator_slug)
    return Response({"mode": creator.autonomy,
                     "drafts": [draft_json(d) for d in drafts.open_drafts([creator.pk])[:100]]})


def _draft(creator_slug, draft_id) -> Draft:
    return get_object_or_404(Draft.objects.select_related("fan", "creator"), pk=draft_id,
                             creator=_creator(creator_slug))


@schemas.team("Approve a draft: sent as drafted, or with the edited fields (same offer rules and price bounds); "
        "sent exactly once however often it is called", request=schemas.DraftApproveSerializer, draft=True)
@api_view(["POST"])
@permission_classes([DraftWorker])
def draft_approve(request, creator_slug, draft_id):
    draft = _draft(creator_slug, draft_id)
    body = schemas.DraftApproveSerializer(data=request.data if request.data else {})
    if not body.is_valid():
        field, message = schemas.first_error(body.errors)
        return Response({"error": f"{field}: {message}" if field else message, "field": field,
                         "status": draft.status}, status=400)
    try:
        action = drafts.approve(draft, request.user, body.validated_data or None)
    except drafts.DraftError as e:
        return Response({"error": str(e), "status": draft.status}, status=400)
    return Response({**draft_json(draft, messages=False), "action_status": action.status,
                     "action_error": action.error})


@schemas.team("Reject a draft with a reason (kept for the team's figures)", request=schemas.DraftRejectSerializer,
              draft=True)
@api_view(["POST"])
@permission_classes([DraftWorker])
def draft_reject(request, creator_slug, draft_id):
    draft = _draft(creator_slug, draft_id)
    body = schemas.DraftRejectSerializer(data=request.data)
    if not body.is_valid():
        field, message = schemas.first_error(body.errors)
        return Response({"error": f"{field}: {message}" if field else message, "field": field,
                         "status": draft.status}, status=400)
    try:
        drafts.reject(draft, request.user, body.validated_data["reason"])
    except drafts.DraftError as e:
        return Response({"error": str(e), "status": draft.status}, status=400)
    return Response(draft_json(draft, messages=False))

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


def _creator(slug) -> Creator:
    return get_object_or_404(Creator, slug=slug)


@schemas.team(
    "The creator's mode (GET), or set it (POST, needs change_creator)",
    schemas.ModeSerializer,
    request=schemas.ModeSerializer,
)
@api_view(["GET", "POST"])
def mode(request, creator_slug):
    creator = _creator(creator_slug)
    if request.method == "POST":
        body = schemas.ModeSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        autonomy.set_creator_mode(creator, body.validated_data["mode"], request.user)
    return Response(schemas.ModeSerializer({"mode": creator.autonomy}).data)


@schemas.team("Open drafts, most urgent first (spend, whale score, waiting time), with the fan's last messages")
@api_view(["GET"])
@permission_classes([DraftWorker])
def draft_list(request, creator_slug):
    creator = _creator(creator_slug)
    waiting = list(drafts.open_drafts([creator.pk])[:100])
    for d in waiting:
        d.recent_messages = drafts.last_messages(d.fan)
    return Response(schemas.DraftListSerializer({"mode": creator.autonomy, "drafts": waiting}).data)


def _draft(creator_slug, draft_id) -> Draft:
    return get_object_or_404(
        Draft.objects.select_related("fan", "creator"), pk=draft_id, creator=_creator(creator_slug)
    )


@schemas.team(
    "Approve a draft: sent as drafted, or with the edited fields (same offer rules and price bounds); "
    "sent exactly once however often it is called",
    request=schemas.DraftApproveSerializer,
    draft=True,
)
@api_view(["POST"])
@permission_classes([DraftWorker])
def draft_approve(request, creator_slug, draft_id):
    draft = _draft(creator_slug, draft_id)
    body = schemas.DraftApproveSerializer(data=request.data if request.data is not None else {})
    body.is_valid(raise_exception=True)
    try:
        drafts.approve(draft, request.user, body.validated_data or None)
    except drafts.DraftError as e:
        return Response({"error": str(e), "status": draft.status}, status=400)
    return Response(schemas.DraftDecidedSerializer(draft).data)


@schemas.team(
    "Reject a draft with a reason (kept for the team's figures)", request=schemas.DraftRejectSerializer, draft=True
)
@api_view(["POST"])
@permission_classes([DraftWorker])
def draft_reject(request, creator_slug, draft_id):
    draft = _draft(creator_slug, draft_id)
    body = schemas.DraftRejectSerializer(data=request.data)
    body.is_valid(raise_exception=True)
    try:
        drafts.reject(draft, request.user, body.validated_data["reason"])
    except drafts.DraftError as e:
        return Response({"error": str(e), "status": draft.status}, status=400)
    return Response(schemas.DraftSerializer(draft).data)

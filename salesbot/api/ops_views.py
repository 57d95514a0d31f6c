"""The operator API, per creator (docs/api.md#ops-api). Staff token required, and the same permissions and creator
scope as admin (salesbot.api.permissions: creator settings by default, fans and drafts where named).

Views stay thin: the numbers come from salesbot.api.selectors and learning.stats, the moves from fans.services.
"""

from django.shortcuts import get_object_or_404
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from fans.models import Fan
from fans.services import hand_off
from learning.stats import aggregate_learning_stats
from models_registry.models import Creator
from models_registry.services import set_enabled
from salesbot import periods, team_performance
from salesbot.api import schemas, selectors
from salesbot.api.permissions import FanWorker
from salesbot.pipeline import checkers

VERSION = "0.1.0"


def _creator(slug) -> Creator:
    return get_object_or_404(Creator, slug=slug)


@schemas.open_health("Service health (no token)", schemas.ServiceHealthSerializer, "service_health")
@api_view(["GET"])
@permission_classes([AllowAny])
def service_health(request):
    return Response(
        schemas.ServiceHealthSerializer({"status": "ok", "version": VERSION, "creators": Creator.objects.count()}).data
    )


@schemas.open_health(
    "Creator health: version and enabled switch (no token)",
    schemas.CreatorHealthSerializer,
    "creator_health",
    per_creator=True,
)
@api_view(["GET"])
@permission_classes([AllowAny])
def health(request, creator_slug):
    c = _creator(creator_slug)
    return Response(
        schemas.CreatorHealthSerializer(
            {"status": "ok", "version": VERSION, "creator": c.slug, "enabled": c.enabled}
        ).data
    )


@schemas.ops("Runtime metrics: webhooks by status, sends, send errors, decisions by source, LLM calls and cost")
@api_view(["GET"])
def stats(request, creator_slug):
    return Response(schemas.FreeForm(selectors.runtime_stats(_creator(creator_slug))).data)


@schemas.ops("Priority queue depth and items, and the fans who need a human")
@api_view(["GET"])
def queue(request, creator_slug):
    return Response(schemas.FreeForm(selectors.queue_snapshot(_creator(creator_slug))).data)


@schemas.ops(
    "Revenue, PPV conversion (overall, by price, hook and content) and top fans; `?by=sender`: sales credit "
    "per sender (bot rules, bot LLM, each person)",
    description="PPV figures are the learning stats' own: only PPVs that reached the fan count. With "
    "`by=sender`: messages, PPVs, conversion with its 90% interval, revenue, revenue per message, "
    "median response time and drafts approved/edited/rejected per sender; the rows add up to the "
    "creator's revenue.",
    parameters=schemas.PERIOD_PARAMETERS,
)
@api_view(["GET"])
def performance(request, creator_slug):
    creator = _creator(creator_slug)
    query = schemas.PerformanceQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    if query.validated_data.get("by") == "sender":
        period = periods.parse(request.query_params, default="all") if query.validated_data.get("period") else None
        report = team_performance.by_sender([creator.pk], period, history=query.validated_data["history"] != "0")
        return Response(schemas.FreeForm(report).data)
    return Response(schemas.FreeForm(selectors.performance(creator)).data)


@schemas.ops("Full aggregated learning stats (cached)")
@api_view(["GET"])
def learning_stats(request, creator_slug):
    return Response(schemas.FreeForm(aggregate_learning_stats(_creator(creator_slug))).data)


@schemas.ops("Training data summary (how much history, from where, over which period) and the learning stats")
@api_view(["GET"])
def training(request, creator_slug):
    c = _creator(creator_slug)
    return Response(
        schemas.FreeForm({"summary": selectors.training_summary(c), "learning_stats": aggregate_learning_stats(c)}).data
    )


@schemas.ops("A fan: state, transition history, recent messages and actions", fan=True)
@api_view(["GET"])
@permission_classes([FanWorker])
def fan_detail(request, creator_slug, fan_id):
    fan = get_object_or_404(Fan, creator=_creator(creator_slug), fan_id=fan_id)
    return Response(schemas.FreeForm(selectors.fan_detail(fan)).data)


@schemas.ops(
    "Hand the fan to a human: the bot never messages them again until staff resume",
    schemas.HandoffSerializer,
    fan=True,
    request=schemas.HandoffRequestSerializer,
)
@api_view(["POST"])
@permission_classes([FanWorker])
def fan_handoff(request, creator_slug, fan_id):
    fan = get_object_or_404(Fan, creator=_creator(creator_slug), fan_id=fan_id)
    body = schemas.HandoffRequestSerializer(data=request.data if request.data is not None else {})
    body.is_valid(raise_exception=True)
    reason = body.validated_data.get("reason", "")[:200] or f"handed off by {request.user}"[:200]
    hand_off(fan, reason, by_staff=True, by_user=request.user)
    return Response(schemas.HandoffSerializer(fan).data)


@schemas.ops("Turn the bot on for this creator", schemas.SwitchSerializer)
@api_view(["POST"])
def enable(request, creator_slug):
    return _switch(request, creator_slug, True)


@schemas.ops("Turn the bot off for this creator: nothing is sent", schemas.SwitchSerializer)
@api_view(["POST"])
def disable(request, creator_slug):
    return _switch(request, creator_slug, False)


def _switch(request, slug, on: bool):
    creator = set_enabled(_creator(slug), on, request.user)
    return Response(schemas.SwitchSerializer({"creator": creator.slug, "enabled": on}).data)


@schemas.ops("Queue one rekindle for each dormant fan who spent money", schemas.ReactivateSerializer)
@api_view(["POST"])
@permission_classes([FanWorker])
def reactivate(request, creator_slug):
    queued = checkers.enqueue_reactivation(_creator(creator_slug))
    return Response(schemas.ReactivateSerializer({"queued": queued}).data)

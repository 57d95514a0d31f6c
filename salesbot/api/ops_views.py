"""The operator API of seed §13, per creator. Staff token required, and the same permissions and creator
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
from salesbot.api import bodies, schemas, selectors
from salesbot.api.permissions import FanWorker
from salesbot.pipeline import checkers

VERSION = "0.1.0"


def _creator(slug) -> Creator:
    return get_object_or_404(Creator, slug=slug)


@schemas.open_health("Service health (no token)", schemas.ServiceHealthSerializer, "service_health")
@api_view(["GET"])
@permission_classes([AllowAny])
def service_health(request):
    return Response({"status": "ok", "version": VERSION, "creators": Creator.objects.count()})


@schemas.open_health("Creator health: version and enabled switch (no token)", schemas.CreatorHealthSerializer,
               "creator_health", per_creator=True)
@api_view(["GET"])
@permission_classes([AllowAny])
def health(request, creator_slug):
    c = _creator(creator_slug)
    return Response({"status": "ok", "version": VERSION, "creator": c.slug, "enabled": c.enabled})


@schemas.ops("Runtime metrics: webhooks by status, sends, send errors, decisions by source, LLM calls and cost")
@api_view(["GET"])
def stats(request, creator_slug):
    return Response(selectors.runtime_stats(_creator(creator_slug)))


@schemas.ops("Priority queue depth and items, and the fans who need a human")
@api_view(["GET"])
def queue(request, creator_slug):
    return Response(selectors.queue_snapshot(_creator(creator_slug)))


@schemas.ops("Revenue, PPV conversion (overall, by price, hook and content) and top fans; `?by=sender`: sales credit "
       "per sender (bot rules, bot LLM, each person)",
       description="PPV figures are the learning stats' own: only PPVs that reached the fan count. With "
                   "`by=sender`: messages, PPVs, conversion with its 90% interval, revenue, revenue per message, "
                   "median response time and drafts approved/edited/rejected per sender; the rows add up to the "
                   "creator's revenue.", parameters=schemas.PERIOD_PARAMETERS)
@api_view(["GET"])
def performance(request, creator_slug):
    creator = _creator(creator_slug)
    if request.query_params.get("by") == "sender":
        period = periods.parse(request.query_params, default="all") if request.query_params.get("period") else None
        return Response(team_performance.by_sender([creator.pk], period,
                                                   history=request.query_params.get("history", "1") != "0"))
    return Response(selectors.performance(creator))


@schemas.ops("Full aggregated learning stats (cached)")
@api_view(["GET"])
def learning_stats(request, creator_slug):
    return Response(aggregate_learning_stats(_creator(creator_slug)))


@schemas.ops("Training data summary (how much history, from where, over which period) and the learning stats")
@api_view(["GET"])
def training(request, creator_slug):
    c = _creator(creator_slug)
    return Response({"summary": selectors.training_summary(c), "learning_stats": aggregate_learning_stats(c)})


@schemas.ops("A fan: state, transition history, recent messages and actions", fan=True)
@api_view(["GET"])
@permission_classes([FanWorker])
def fan_detail(request, creator_slug, fan_id):
    fan = get_object_or_404(Fan, creator=_creator(creator_slug), fan_id=fan_id)
    return Response(selectors.fan_detail(fan))


@schemas.ops("Hand the fan to a human: the bot never messages them again until staff resume", schemas.HandoffSerializer,
       fan=True, request=schemas.HandoffRequestSerializer)
@api_view(["POST"])
@permission_classes([FanWorker])
def fan_handoff(request, creator_slug, fan_id):
    fan = get_object_or_404(Fan, creator=_creator(creator_slug), fan_id=fan_id)
    try:
        reason = bodies.text(bodies.obj(request), "reason", max_length=200).strip()
    except bodies.BadBody as e:
        return e.response()
    reason = reason or f"handed off by {request.user}"[:200]
    hand_off(fan, reason, by_staff=True, by_user=request.user)
    return Response({"fan_id": fan.fan_id, "state": fan.state, "handoff_reason": fan.handoff_reason})


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
    return Response({"creator": creator.slug, "enabled": on})


@schemas.ops("Queue one rekindle for each dormant fan who spent money", schemas.ReactivateSerializer)
@api_view(["POST"])
@permission_classes([FanWorker])
def reactivate(request, creator_slug):
    return Response({"queued": checkers.enqueue_reactivation(_creator(creator_slug))})

"""The holdout experiment of a creator (learning.experiments): GET its results, POST to start one, DELETE to stop it.

Thin views, as the rest of the ops API: the numbers and the moves are learning.experiments'.
"""

from django.shortcuts import get_object_or_404
from rest_framework.decorators import api_view
from rest_framework.response import Response

from learning import experiments
from models_registry.models import Creator
from salesbot.api import schemas

DESCRIPTION = (
    "Each fan who subscribes after the experiment started is assigned once, stickily, to `learning` or "
    "`control` (the playbook ladder: no learned prices, no exploration; every safety rule in both arms). Per "
    "arm: fans, revenue per fan (PPV purchases, 90% normal-approximation interval; tips per fan apart), PPV "
    "conversion and ghost rate (Beta posteriors, 90% credible intervals), and P(learning beats control). "
    "`verdict` says "
    "plainly when there is not enough data yet. A stopped experiment keeps its results (the latest is shown)."
)


@schemas.ops(
    'Holdout experiment: results (GET), start (POST {"control_share": 0.2}), stop (DELETE)',
    request=schemas.ExperimentRequestSerializer,
    description=DESCRIPTION,
)
@api_view(["GET", "POST", "DELETE"])
def experiment(request, creator_slug):
    creator = get_object_or_404(Creator, slug=creator_slug)
    who = request.user
    if request.method == "POST":
        body = schemas.ExperimentRequestSerializer(data=request.data if request.data is not None else {})
        body.is_valid(raise_exception=True)
        try:
            experiments.start(creator, body.validated_data["control_share"], by=who)
        except experiments.ExperimentError as e:
            return Response({"error": str(e)}, status=409 if "already running" in str(e) else 400)
        return Response(schemas.FreeForm(experiments.report(creator)).data, status=201)
    if request.method == "DELETE":
        stopped = experiments.stop(creator, by=who)
        return Response(
            schemas.FreeForm({"stopped": stopped.pk if stopped else None, **experiments.report(creator)}).data
        )
    return Response(schemas.FreeForm(experiments.report(creator)).data)

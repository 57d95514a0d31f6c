from django.urls import path

from salesbot.api import experiment_views
from salesbot.api import ops_views as v
from salesbot.api import team_views as t
from salesbot.api.webhook_views import AccountWebhookView, CreatorWebhookView, ProviderWebhookView

per_creator = [
    path("health", v.health),
    path("stats", v.stats),
    path("queue", v.queue),
    path("performance", v.performance),
    path("training", v.training),
    path("learning/stats", v.learning_stats),
    path("experiment", experiment_views.experiment),
    path("fan/<int:fan_id>", v.fan_detail),
    path("fan/<int:fan_id>/handoff", v.fan_handoff),
    path("enable", v.enable),
    path("disable", v.disable),
    path("reactivate", v.reactivate),
    path("mode", t.mode),
    path("drafts", t.draft_list),
    path("drafts/<int:draft_id>/approve", t.draft_approve),
    path("drafts/<int:draft_id>/reject", t.draft_reject),
    path("webhook/<str:kind>", CreatorWebhookView.as_view()),
]

urlpatterns = [
    path("health", v.service_health),
    path("webhook/<str:kind>", AccountWebhookView.as_view()),
    path("providers/<str:provider>/webhook", ProviderWebhookView.as_view()),
    *[path(f"<slug:creator_slug>/{p.pattern}", p.callback) for p in per_creator],
]

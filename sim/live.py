"""A bounded simulated audience driven through the real system: signed webhooks into the Django
stack (django-q2 in sync mode), sends over HTTP to the fake platform, LLM calls over HTTP to the
fake Claude server. Used to check the decision layer's promises over hundreds of fans."""

import json
import random
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import UTC, datetime

import requests
from django.conf import settings
from django.db.models import Max
from django.test import Client
from django_q.conf import Conf

from learning.models import Action
from models_registry.services import onboard_creator
from salesbot.models import LLMCall
from salesbot.pipeline.repeats import normalise
from salesbot.providers.simple import sign
from sim import fan_model

BAD_LLM_MODES = ["prose", "two_lines", "unknown_key", "bad_price", "fenced", "500"]
LLM_ROUTES = {"spent_1_plus", "msg_9_plus"}


@dataclass
class LiveReport:
    fans: int = 0
    webhooks: int = 0
    decisions: int = 0
    llm_routed: int = 0
    llm_calls: int = 0
    llm_accepted: int = 0
    llm_rejected_or_failed: int = 0
    max_prompt_tokens: int = 0
    max_input_tokens_reported: int = 0
    sends: int = 0
    invalid_llm_sends: int = 0
    sends_after_stop_or_handoff: int = 0
    stopped_or_handed_off_fans: int = 0
    purchases: int = 0
    revenue: float = 0.0
    ppvs_sent: int = 0
    fans_with_a_repeat: int = 0  # fans who got one line (normalised, salesbot.pipeline.repeats) twice or more
    repeated_lines: int = 0  # sends of a line the fan already had
    most_times_one_line: int = 0  # the most times one fan got one line
    notes: list = field(default_factory=list)

    @property
    def messages_per_fan(self) -> float:
        return round(self.sends / self.fans, 2) if self.fans else 0.0

    @property
    def ppv_conversion(self) -> float:
        return round(100 * self.purchases / self.ppvs_sent, 1) if self.ppvs_sent else 0.0

    @property
    def llm_share(self) -> float:
        return round(100 * self.llm_routed / self.decisions, 1) if self.decisions else 0.0

    def lines(self) -> list[str]:
        return [
            f"fans simulated:                  {self.fans}",
            f"webhooks posted:                 {self.webhooks}",
            f"decisions (fan interactions):    {self.decisions}",
            f"routed to the LLM:               {self.llm_routed} ({self.llm_share}%, goal ≤ 20%)",
            f"LLM calls / accepted / fallback: {self.llm_calls} / {self.llm_accepted} / {self.llm_rejected_or_failed}",
            f"largest prompt (our count):      {self.max_prompt_tokens} tokens "
            f"(limit {settings.LLM_PROMPT_TOKEN_LIMIT})",
            f"largest prompt (fake API usage): {self.max_input_tokens_reported} tokens",
            f"messages sent:                   {self.sends}",
            f"invalid LLM replies sent:        {self.invalid_llm_sends}",
            f"fans who said stop / handed off: {self.stopped_or_handed_off_fans}",
            f"messages after stop / handoff:   {self.sends_after_stop_or_handoff}",
            f"purchases / revenue:             {self.purchases} / ${self.revenue:.2f}",
            f"bot messages per fan:            {self.messages_per_fan}",
            f"PPVs sent / conversion:          {self.ppvs_sent} / {self.ppv_conversion}%",
            f"fans who got a line twice:       {self.fans_with_a_repeat} of {self.fans}",
            f"repeated lines / most one line:  {self.repeated_lines} / {self.most_times_one_line}x to one fan",
        ]


class LiveSimulation:
    def __init__(
        self,
        platform_url,
        llm_url,
        *,
        slug="sim",
        seed=7,
        bad_llm_every=7,
        stop_rate=0.03,
        safety_rate=0.02,
        max_turns=30,
        progress=None,
        variants=None,
        llm=True,
    ):
        self.platform_url, self.llm_url = platform_url.rstrip("/"), llm_url.rstrip("/")
        self.rng = random.Random(seed)
        self.slug, self.bad_llm_every, self.max_turns = slug, bad_llm_every, max_turns
        self.variants, self.llm = variants, llm  # variants: keep only the first N of each template (fresh maps)
        self.rates = {"stop_rate": stop_rate, "safety_rate": safety_rate}
        self.progress = progress or (lambda *a: None)
        self.client = Client()
        self.events: deque = deque()
        self.turns: dict[int, int] = {}
        self.silenced_at: dict[int, str] = {}  # fan id -> ISO time the fan said stop / a safety phrase
        self.seen_action = 0
        self.report = LiveReport()

    def setup(self, api_key="sim-key", secret="sim-secret", account="acct_sim"):
        self.secret, self.account = secret, account
        content_map = json.loads((settings.BASE_DIR / "demo/content-map.json").read_text(encoding="utf-8"))
        if self.variants:
            for t in content_map.get("templates", {}).values():
                t["variants"] = t["variants"][: self.variants]
        playbook = (settings.BASE_DIR / "demo/playbook.md").read_text(encoding="utf-8")
        self.creator = onboard_creator(
            content_map,
            playbook,
            slug=self.slug,
            account_id=account,
            api_base_url=self.platform_url,
            api_key=api_key,
            webhook_secret=secret,
            display_name="Simulated creator",
        )
        settings.ANTHROPIC_API_KEY = "sim-llm-key" if self.llm else ""
        settings.ANTHROPIC_BASE_URL = self.llm_url
        Conf.SYNC = True
        self.seen_action = Action.objects.aggregate(m=Max("id"))["m"] or 0
        self.first_llm_call = LLMCall.objects.aggregate(m=Max("id"))["m"] or 0
        return self.creator

    def post(self, event: str, payload: dict):
        self.report.webhooks += 1
        n = self.report.webhooks
        body = json.dumps(
            {
                "event_id": f"evt_sim_{self.slug}_{n}",
                "event": event,
                "account_id": self.account,
                "created_at": _now(),
                "payload": payload,
            }
        ).encode()
        if self.bad_llm_every and n % self.bad_llm_every == 0:
            requests.post(
                f"{self.llm_url}/_fake/mode", json={"mode": self.rng.choice(BAD_LLM_MODES), "times": 1}, timeout=5
            )
        r = self.client.post(
            f"/api/{self.slug}/webhook/of-event",
            data=body,
            content_type="application/json",
            HTTP_X_SIGNATURE=sign(self.secret, body),
        )
        if r.status_code != 200:
            self.report.notes.append(f"webhook {event} answered {r.status_code}: {r.content[:200]!r}")

    def run(self, n_fans: int) -> LiveReport:
        fans = {f.id: f for f in fan_model.make_fans(self.rng, n_fans, **self.rates)}
        self.names = {f.id: f.name for f in fans.values()}
        self.report.fans = n_fans
        for i, fan in enumerate(fans.values(), 1):
            ref = {"fan": {"id": fan.id, "name": fan.name}}
            self.post("subscriptions.new", ref)
            if fan_model.opens_conversation(fan, self.rng):
                self.events.append((fan.id, fan_model.Reaction.reply(fan_model.opening_message(fan, self.rng))))
            self._collect_reactions(fans)
            while self.events:
                fan_id, reaction = self.events.popleft()
                self._deliver(fans[fan_id], reaction)
                self._collect_reactions(fans)
            if i % 25 == 0 or i == n_fans:
                self.progress(i, n_fans)
        self._summarise()
        return self.report

    def _deliver(self, fan, r):
        ref = {"fan": {"id": fan.id, "name": fan.name}}
        if r.kind == "reply":
            self.turns[fan.id] = self.turns.get(fan.id, 0) + 1
            if fan.id not in self.silenced_at and (fan_model_says_stop(r.text) or fan_model_safety(r.text)):
                self.silenced_at[fan.id] = _now()
            self.post(
                "messages.received",
                {**ref, "message": {"id": 10_000_000 + self.report.webhooks, "text": r.text, "createdAt": _now()}},
            )
        elif r.kind == "purchase":
            self.post("messages.ppv.unlocked", {**ref, "message_id": r.message_id, "amount": r.amount})
        elif r.kind == "tip":
            self.post("tips.received", {**ref, "amount": r.amount})

    def _collect_reactions(self, fans):
        """New sends since last look → each simulated fan reacts (bounded turns per fan)."""
        new = list(
            Action.objects.filter(id__gt=self.seen_action, creator=self.creator, status="sent")
            .select_related("fan")
            .order_by("id")
        )
        if new:
            self.seen_action = new[-1].id
        media = {v.content_key: v.media_ids for v in self.creator.vault_items.all()}
        for a in new:
            fan = fans.get(a.fan.fan_id)
            if fan is None or self.turns.get(fan.id, 0) >= self.max_turns:
                continue
            msg = {
                "id": a.platform_message_id,
                "text": a.message_text,
                "mediaFiles": media.get(a.content_key, []),
                "price": float(a.price or 0),
                "hook": a.hook or None,
                "content_key": a.content_key or None,
            }
            for reaction in fan_model.react(fan, msg, self.rng):
                if reaction.kind != "nothing":
                    self.events.append((fan.id, reaction))

    def _summarise(self):
        rep = self.report
        actions = Action.objects.filter(creator=self.creator).exclude(source="import")
        decided = actions.exclude(route__in=["", "handed_off"])
        rep.decisions = decided.count()
        rep.llm_routed = decided.filter(route__in=LLM_ROUTES).count()
        calls = LLMCall.objects.filter(creator=self.creator, id__gt=self.first_llm_call)
        rep.llm_calls = calls.count()
        rep.llm_accepted = calls.filter(outcome="accepted").count()
        rep.llm_rejected_or_failed = rep.llm_calls - rep.llm_accepted
        agg = calls.aggregate(
            p=Max("prompt_tokens"), i=Max("input_tokens"), c=Max("cache_read_tokens"), w=Max("cache_creation_tokens")
        )
        rep.max_prompt_tokens = agg["p"] or 0
        rep.max_input_tokens_reported = max(
            (
                c.input_tokens + c.cache_read_tokens + c.cache_creation_tokens
                for c in calls.only("input_tokens", "cache_read_tokens", "cache_creation_tokens")
            ),
            default=0,
        )
        sent = actions.filter(status="sent")
        rep.sends = sent.count()
        rep.invalid_llm_sends = sum(1 for a in sent.filter(source="llm") if not _valid_llm_action(a, self.creator))
        rep.invalid_llm_sends += calls.exclude(outcome="accepted").filter(action__source="llm").count()
        at_platform = requests.get(f"{self.platform_url}/_fake/messages", timeout=30).json()["messages"]
        handed = set(self.creator.fans.filter(state="handed_off").values_list("fan_id", flat=True))
        opted = set(self.creator.fans.filter(opted_out=True).values_list("fan_id", flat=True))
        rep.stopped_or_handed_off_fans = len(handed | opted | set(self.silenced_at))
        rep.sends_after_stop_or_handoff = sum(
            1
            for m in at_platform
            if m["fan_id"] in self.silenced_at and _t(m["createdAt"]) > _t(self.silenced_at[m["fan_id"]])
        )
        _count_repeats(rep, at_platform, self.names)
        from learning.models import Outcome

        money = Outcome.objects.filter(creator=self.creator, event="purchased")
        rep.purchases = money.count()
        rep.revenue = float(sum(o.amount or 0 for o in money))


def _count_repeats(rep: LiveReport, at_platform: list, names: dict):
    """What the fans saw: each fan's lines at the platform, normalised, counted."""
    lines: dict[int, Counter] = {}
    for m in at_platform:
        if m["fan_id"] in names:
            lines.setdefault(m["fan_id"], Counter())[normalise(m["text"], names[m["fan_id"]])] += 1
            rep.ppvs_sent += bool(m["price"]) and bool(m["mediaFiles"])
    extra = {fan: sum(n - 1 for n in c.values() if n > 1) for fan, c in lines.items()}
    rep.fans_with_a_repeat = sum(1 for n in extra.values() if n)
    rep.repeated_lines = sum(extra.values())
    rep.most_times_one_line = max((n for c in lines.values() for n in c.values()), default=0)


def _valid_llm_action(a: Action, creator) -> bool:
    item = creator.vault_items.filter(content_key=a.content_key).first() if a.content_key else None
    if a.action == "ppv":
        return item is not None and a.price is not None and creator.price_in_bounds(a.price)
    return bool(a.message_text.strip()) and (not a.content_key or item is not None)


def fan_model_says_stop(text: str) -> bool:
    return text in fan_model.STOP_PHRASES


def fan_model_safety(text: str) -> bool:
    return any(text in phrases for phrases in fan_model.SAFETY_PHRASES.values())


def _t(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")

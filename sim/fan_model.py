"""A plain, deterministic model of simulated fans (no HTTP, no Django).

The fake platform uses it to answer the bot like a real audience would; the in-process simulator
(sim.policy, `manage.py simulate`) takes any audience with the FanModel interface at the end of this
file, this one (DemoFans) by default. Everything random goes through the caller's random.Random, so a
seed replays a run.
Each fan has hidden preferences the bot has to discover: a price ceiling, favourite hooks and content,
how chatty it is, whether it is a whale. A few fans say "stop" or a safety phrase, so the project's
opt-out and safety handoff can be seen working; those rates are parameters.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, runtime_checkable

HOOKS = ("vulnerability", "scarcity", "challenge", "conditional", "exclusivity", "sexual_match", "curiosity")

# Media id -> content key, mirroring demo/content-map.json, so a PPV can be matched to a favourite.
CONTENT_BY_MEDIA = {
    101: "gfe_selfie",
    102: "tease_pic",
    103: "sexting1_pic",
    201: "combo1",
    202: "combo1",
    203: "combo3",
    204: "combo3",
    205: "combo3",
    206: "combo5",
    207: "combo5",
    208: "combo5",
    301: "combo7",
    302: "video_long",
}
PAID_CONTENT = ("combo1", "combo3", "combo5", "combo7", "video_long")

# Words in the bot's text that reveal which hook it used (when the message does not say).
HOOK_WORDS = {
    "vulnerability": ("🥺", "never shown", "nervous", "shy", "a bit scared"),
    "scarcity": ("only sending", "tonight only", "few people", "last chance", "limited", "won't last"),
    "challenge": ("bet you", "can you handle", "i dare you", "prove it"),
    "conditional": ("if you", "only if", "unlock it and"),
    "exclusivity": ("just for you", "only for you", "no one else", "exclusive", "special for you"),
    "sexual_match": ("😏", "naughty", "sexy", "spicy", "wearing"),
    "curiosity": ("guess", "👀", "something you'd like", "wonder", "did you see"),
}

NAMES = (
    "John",
    "Mike",
    "Chris",
    "Dave",
    "Alex",
    "Sam",
    "Tom",
    "Ryan",
    "Matt",
    "Jake",
    "Ben",
    "Luke",
    "Nick",
    "Dan",
    "Josh",
    "Kevin",
    "Mark",
    "Paul",
    "Steve",
    "Eric",
    "Leo",
    "Max",
    "Tony",
    "Carlos",
    "Marco",
    "Liam",
    "Noah",
    "Ethan",
    "Oscar",
    "Hugo",
    "Adam",
    "Victor",
    "Sean",
    "Pete",
    "Raj",
)

SMALL_TALK = (
    "hey",
    "hi",
    "hii 👋",
    "how are you?",
    "what are you up to",
    "you're so cute",
    "😍",
    "haha",
    "lol you're funny",
    "long day at work",
    "just got home",
    "you're gorgeous",
    "good morning ☀️",
    "where are you from?",
    "tell me about you",
    "nice",
    "❤️",
    "wow",
    "what's your favourite food?",
    "i like your pics",
    "can't sleep lol",
)
BUYING = ("how much?", "how much is it", "i want it", "send it", "ok send it 😏", "i'll buy it")
SEXUAL = ("that's hot", "you're so sexy", "so hot 🔥", "you look sexy today", "you're hot")
INTEREST = ("what do you have?", "show me", "i want to see more", "send me something", "show me more of you")
EMOTIONAL = ("miss you", "thinking about you", "you're the only one i talk to", "love you babe")
CUSTOM = ("can you make me a custom?", "could you say my name in a video?")
DECLINE = ("maybe later", "too expensive", "not today", "i'm broke rn 😅", "hmm not sure", "later babe")
THANKS = ("wow that was amazing", "loved it 😍", "you're incredible", "more please", "omg 🔥", "worth it")
FREE_THANKS = ("cute 😍", "thanks babe", "wow", "you look amazing", "more? 👀")
STOP_PHRASES = ("stop", "stop messaging me", "please stop")
SAFETY_PHRASES = {
    "minor": ("i'm 16", "im 16 lol is that ok"),
    "video_call": ("can we video call", "can we video call?"),
}


@dataclass
class Reaction:
    """What a fan does after a message: reply(text), purchase(message_id, amount), tip(amount) or nothing."""

    kind: str
    text: str | None = None
    message_id: int | None = None
    amount: float | None = None

    @classmethod
    def reply(cls, text):
        return cls("reply", text=text)

    @classmethod
    def purchase(cls, message_id, amount):
        return cls("purchase", message_id=message_id, amount=amount)

    @classmethod
    def tip(cls, amount):
        return cls("tip", amount=amount)

    @classmethod
    def nothing(cls):
        return cls("nothing")


@dataclass
class SimFan:
    """One simulated fan: hidden preferences (constructor fields) plus what happened so far (state)."""

    id: int
    name: str
    max_price: float = 18.0  # price at which the purchase odds are half of base_buy
    price_softness: float = 5.0  # width of the smooth fall-off around max_price
    base_buy: float = 0.5  # purchase odds for a very cheap PPV
    chattiness: float = 0.6  # probability of replying to a message
    forwardness: float = 0.3  # share of replies carrying a buying/sexual/interest signal
    favourite_hooks: tuple = ()
    favourite_content: tuple = ()
    tip_prob: float = 0.03
    is_whale: bool = False
    ghost_prob: float = 0.15  # probability of ignoring a message entirely
    opener_prob: float = 0.5  # probability of writing first after subscribing
    active_hours: tuple = (0, 24)  # UTC [start, end), may wrap midnight
    quirk: str | None = None  # None | "stop" | "minor" | "video_call"
    quirk_after: int = 0  # replies before the quirk shows
    buy_boost: float = 1.0  # purchase odds multiplier: a known lift given to one experiment arm
    # state
    purchased: set = field(default_factory=set)
    total_spent: float = 0.0
    replies: int = 0
    stopped: bool = False

    def is_active(self, hour: int | None) -> bool:
        if hour is None:
            return True
        start, end = self.active_hours
        return start <= hour < end if start <= end else (hour >= start or hour < end)


def audience_taste(rng: random.Random, concentration: float) -> tuple[dict, dict]:
    """Hidden popularity of each hook and paid content across an audience: Dirichlet(concentration)
    weights, so some hooks and items are favoured by many fans. Small concentration: strong fashions;
    large: nearly even. Pass the two dicts to make_fan(s) as hook_weights / content_weights."""

    def draw(names):
        g = [rng.gammavariate(concentration, 1.0) for _ in names]
        return {n: x / sum(g) for n, x in zip(names, g, strict=False)}

    return draw(HOOKS), draw(PAID_CONTENT)


def _favourites(rng: random.Random, names: tuple, k: int, weights: dict | None) -> tuple:
    """k distinct favourites: uniformly (weights None, the historical draw) or by popularity."""
    if weights is None:
        return tuple(rng.sample(names, k))
    left, out = list(names), []
    for _ in range(k):
        pick = rng.choices(left, weights=[weights.get(n, 0.0) + 1e-12 for n in left])[0]
        left.remove(pick)
        out.append(pick)
    return tuple(out)


def make_fan(
    rng: random.Random,
    fan_id: int | None = None,
    *,
    whale_rate=0.02,
    stop_rate=0.01,
    safety_rate=0.002,
    hook_weights: dict | None = None,
    content_weights: dict | None = None,
) -> SimFan:
    """Draw one fan. whale_rate/stop_rate/safety_rate are the shares of fans with that trait;
    hook_weights/content_weights (see audience_taste) make some favourites more common than others."""
    fan_id = fan_id if fan_id is not None else rng.randint(10_000_000, 99_999_999)
    whale = rng.random() < whale_rate
    start = rng.randrange(24)
    length = rng.randint(6, 18)
    fan = SimFan(
        id=fan_id,
        name=rng.choice(NAMES),
        max_price=rng.uniform(60, 150) if whale else rng.uniform(8, 32),
        price_softness=rng.uniform(8, 20) if whale else rng.uniform(2.5, 7),
        base_buy=rng.uniform(0.75, 0.95) if whale else rng.uniform(0.25, 0.75),
        chattiness=rng.uniform(0.7, 0.95) if whale else rng.uniform(0.3, 0.9),
        forwardness=rng.uniform(0.2, 0.6),
        favourite_hooks=_favourites(rng, HOOKS, rng.randint(1, 2), hook_weights),
        favourite_content=_favourites(rng, PAID_CONTENT, rng.randint(1, 2), content_weights),
        tip_prob=rng.uniform(0.2, 0.4) if whale else rng.uniform(0.0, 0.06),
        is_whale=whale,
        ghost_prob=rng.uniform(0.0, 0.1) if whale else rng.uniform(0.05, 0.35),
        opener_prob=rng.uniform(0.3, 0.8),
        active_hours=(start, (start + length) % 24) if length < 24 else (0, 24),
    )
    roll = rng.random()
    if roll < stop_rate:
        fan.quirk = "stop"
    elif roll < stop_rate + safety_rate:
        fan.quirk = rng.choice(sorted(SAFETY_PHRASES))
    fan.quirk_after = rng.randint(0, 3)
    return fan


def make_fans(rng: random.Random, n: int, **rates) -> list[SimFan]:
    """n fans with unique ids; rates are passed to make_fan."""
    fans, seen = [], set()
    while len(fans) < n:
        fan = make_fan(rng, **rates)
        if fan.id not in seen:
            seen.add(fan.id)
            fans.append(fan)
    return fans


def infer_hook(text: str) -> str | None:
    low = (text or "").lower()
    for hook, words in HOOK_WORDS.items():
        if any(w in low for w in words):
            return hook
    return None


def content_key_for(media_files) -> str | None:
    for m in media_files or ():
        if m in CONTENT_BY_MEDIA:
            return CONTENT_BY_MEDIA[m]
    return None


def purchase_probability(
    fan: SimFan, price: float, hook: str | None = None, content_key: str | None = None, hour: int | None = None
) -> float:
    """Smooth odds of unlocking a PPV: strictly decreasing in price, raised by favourites."""
    p = fan.base_buy / (1.0 + math.exp((float(price) - fan.max_price) / fan.price_softness))
    if hook and hook in fan.favourite_hooks:
        p *= 1.5
    if content_key and content_key in fan.favourite_content:
        p *= 1.4
    if not fan.is_active(hour):
        p *= 0.6
    if fan.buy_boost != 1.0:
        p *= fan.buy_boost
    return min(p, 0.97)


def opens_conversation(fan: SimFan, rng: random.Random) -> bool:
    """Whether a new subscriber writes first."""
    return rng.random() < fan.opener_prob


def opening_message(fan: SimFan, rng: random.Random) -> str:
    if fan.quirk and fan.quirk_after == 0:
        return _quirk_text(fan, rng)
    fan.replies += 1
    if rng.random() < fan.forwardness * 0.5:
        return rng.choice(INTEREST + SEXUAL)
    return rng.choice(
        (
            "hey",
            "hi",
            "hii 👋",
            "hey beautiful",
            "hello 😊",
            "just subscribed 😍",
            "hey how are you?",
            "what are you up to",
        )
    )


def react(fan: SimFan, message: dict, rng: random.Random, hour: int | None = None) -> list[Reaction]:
    """The fan's reactions to one message from the creator.

    message: {"id", "text", "mediaFiles", "price"} and optionally "hook" / "content_key" (else inferred).
    Purchases only PPVs (price > 0 with media), each message id at most once.
    """
    if fan.stopped or rng.random() < fan.ghost_prob:
        return [Reaction.nothing()]
    price = float(message.get("price") or 0)
    media = list(message.get("mediaFiles") or [])
    msg_id = message.get("id")
    hook = message.get("hook") or infer_hook(message.get("text", ""))
    content = message.get("content_key") or content_key_for(media)
    out: list[Reaction] = []
    bought = False
    if (
        price > 0
        and media
        and msg_id is not None
        and msg_id not in fan.purchased
        and rng.random() < purchase_probability(fan, price, hook, content, hour)
    ):
        fan.purchased.add(msg_id)
        fan.total_spent += price
        bought = True
        out.append(Reaction.purchase(msg_id, price))
    chat = fan.chattiness if fan.is_active(hour) else fan.chattiness * 0.5
    if bought or rng.random() < chat:
        out.append(Reaction.reply(_reply_text(fan, rng, price, media, bought)))
    if rng.random() < fan.tip_prob * (2.0 if bought else 0.5):
        amounts = (20, 50, 100, 200) if fan.is_whale else (5, 10, 20)
        out.append(Reaction.tip(float(rng.choice(amounts))))
    return out or [Reaction.nothing()]


def _quirk_text(fan: SimFan, rng: random.Random) -> str:
    text = rng.choice(STOP_PHRASES if fan.quirk == "stop" else SAFETY_PHRASES[fan.quirk])
    if fan.quirk == "stop":
        fan.stopped = True
    fan.quirk = None
    fan.replies += 1
    return text


def _reply_text(fan: SimFan, rng: random.Random, price: float, media: list, bought: bool) -> str:
    if fan.quirk and fan.replies >= fan.quirk_after:
        return _quirk_text(fan, rng)
    fan.replies += 1
    if bought:
        return rng.choice(THANKS)
    if price > 0 and media:
        return rng.choice(DECLINE + ("how much?", "what's in it?", "is it worth it? 👀"))
    if media and rng.random() < 0.6:
        return rng.choice(FREE_THANKS)
    if rng.random() < fan.forwardness:
        pools = [BUYING, SEXUAL, INTEREST] + ([EMOTIONAL, CUSTOM] if fan.is_whale else [EMOTIONAL])
        return rng.choice(rng.choice(pools))
    return rng.choice(SMALL_TALK)


# --- the interface the in-process simulator takes (`manage.py simulate --fan-model FILE.py:Class`) ---------


@dataclass(frozen=True)
class BotMessage:
    """One message of the bot as the fan gets it. price > 0 makes it a PPV, locked until bought."""

    id: int
    text: str
    price: float = 0.0
    content_key: str | None = None
    hook: str | None = None
    media_ids: tuple = ()
    hour: int = 12  # the simulated UTC hour the fan reads it


@runtime_checkable
class FanModel(Protocol):
    """An audience. The simulator builds it once per run as `Model(seed)` and never shares a fan between
    policies: each policy gets fresh fans from make_fan with the same ids and rng seeds, so every draw
    must come from the `rng` handed in (or from `seed`) for policies to meet the same fans.

    make_fan(fan_id, rng)      a new subscriber: any object (its `name`, if any, greets it)
    first_message(fan, rng)    what the fan writes before the bot does, or None to wait for the welcome
    react(fan, message, rng)   what the fan does after one BotMessage, a list of Reaction: reply(text),
                               purchase(message.id, message.price) of a PPV, tip(amount); [] is silence.
                               A purchase pays the PPV's price; one of a message that is not a PPV is ignored.
    Optional: purchase_probability(fan, message), the fan's true odds of buying that PPV, for the
    expected-revenue and regret lines of the report (n/a without it); assigned(fan, arm), told the fan's
    holdout-experiment arm ("learning", "control" or "") when the run holds one (Simulation(experiment=…)):
    a model may then give one arm a known effect, to check the experiment's estimate (sim.fan_models.LiftFans).
    """

    def make_fan(self, fan_id: int, rng: random.Random) -> Any: ...

    def first_message(self, fan: Any, rng: random.Random) -> str | None: ...

    def react(self, fan: Any, message: BotMessage, rng: random.Random) -> list[Reaction]: ...


REQUIRED = ("make_fan", "first_message", "react")


def missing_methods(model) -> list[str]:
    """The FanModel methods `model` (a class or an instance) lacks."""
    return [name for name in REQUIRED if not callable(getattr(model, name, None))]


class DemoFans:
    """The built-in audience: make_fan's fans with hidden preferences, an audience taste per seed
    (audience_taste; taste 0 = favourites drawn uniformly), react() for answers."""

    def __init__(self, seed: int = 0, taste: float = 1.0, **rates):
        weights = audience_taste(random.Random(f"{seed}:taste"), taste) if taste else (None, None)
        self.hook_weights, self.content_weights = weights
        self.rates = rates

    def make_fan(self, fan_id: int, rng: random.Random) -> SimFan:
        return make_fan(rng, fan_id, hook_weights=self.hook_weights, content_weights=self.content_weights, **self.rates)

    def first_message(self, fan: SimFan, rng: random.Random) -> str | None:
        return opening_message(fan, rng) if opens_conversation(fan, rng) else None

    def react(self, fan: SimFan, message: BotMessage, rng: random.Random) -> list[Reaction]:
        msg = {**asdict(message), "mediaFiles": list(message.media_ids)}
        return [r for r in react(fan, msg, rng, hour=message.hour) if r.kind != "nothing"]

    def purchase_probability(self, fan: SimFan, message: BotMessage) -> float:
        """The odds react() buys with: the fan does not ghost the message (heard) and buys it."""
        return heard(fan) * purchase_probability(fan, message.price, message.hook, message.content_key, message.hour)


def heard(fan: SimFan) -> float:
    """P(the fan does not ghost a message): react() ignores one with probability ghost_prob, purchase
    included, so the true odds of a purchase carry this factor (without it the simulator's truth overstated
    every offer's worth by about a fifth). A fan who said stop is opted out and sent nothing more."""
    return 1.0 - fan.ghost_prob

"""Other audiences for the in-process simulator (`manage.py simulate --fan-model sim.fan_models:Class`,
`bench/learning.py --fan-model …`), beside the built-in sim.fan_model.DemoFans.

Price sensitivity (the learning honesty check of issue #13). DemoFans's ordinary fans have their
half-odds price (SimFan.max_price) uniform in $8..$32 around the demo creator's $18 entry price, so the
ladder's entry price is already near the best. These two move it, and nothing else: every other trait
(chattiness, favourites, whales, quirks) is DemoFans's, drawn from the same streams, so the only
difference is where the money is.

  PricierFans   ordinary fans' max_price uniform in $35..$70: the best price of the demo's grid
                ($12 $18 $25 $35 $50) is $35 or $50 for most fans, well above the $18 entry price.
  ThriftyFans   ordinary fans' max_price uniform in $5..$15: most fans' best price is $12, below the entry
                price (and nothing cheaper is on the grid).

Whales keep DemoFans's $60..$150.

Per-fan-context pricing (issue 24): two more audiences, written from the issue's description of audiences
outside the repository and not tuned to the policy (their numbers were set before any run):

  MidPriceFans     ordinary fans' max_price uniform in $25..$35 (best price near $25-$35, above the entry
                   price but under the dearest rung), one audience-wide hook that lifts purchases 1.4× for
                   every fan, and fatigue: each PPV already offered lowers the next one's odds by 12%.
  WhaleHeavyFans   one fan in ten is a whale (max_price uniform in $50..$100, eager), the rest rarely pay
                   over $15 (max_price uniform in $6..$15).

Known lift (the holdout experiment's check, learning.experiments). LiftFans gives the learning arm a
purchase probability (1 + lift) times the control's, price-blind, and every fan gets at most one PPV:
the fan answers every message that is not a PPV with small talk, buys a PPV with probability
`p` (control) or `p × (1 + lift)` (learning), and then says nothing (an unbought offer gets its bump,
which goes unanswered too). With both arms offered the same PPVs (the learning arm unable to learn:
exploration off and min_sample out of reach, so its offers are the ladder's), the true lift in revenue
per fan is exactly `lift`, which the experiment's 90% interval should cover nine times in ten.
"""

import random

from sim.fan_model import SMALL_TALK, BotMessage, DemoFans, Reaction, SimFan, heard, purchase_probability


class _PricedFans(DemoFans):
    """DemoFans with the ordinary fans' max_price redrawn uniformly in PRICE_RANGE (from its own stream)."""

    PRICE_RANGE = (8.0, 32.0)

    def __init__(self, seed: int = 0, **kw):
        super().__init__(seed, **kw)
        self.seed = seed

    def make_fan(self, fan_id: int, rng: random.Random) -> SimFan:
        fan = super().make_fan(fan_id, rng)
        if not fan.is_whale:
            fan.max_price = random.Random(f"{self.seed}:{fan_id}:price").uniform(*self.PRICE_RANGE)
        return fan


class PricierFans(_PricedFans):
    """Most fans' best price well above the entry price (see the module doc)."""

    PRICE_RANGE = (35.0, 70.0)


class ThriftyFans(_PricedFans):
    """Most fans' best price below the entry price (see the module doc)."""

    PRICE_RANGE = (5.0, 15.0)


class MidPriceFans(_PricedFans):
    """Best prices $25-35, a hook that lifts everyone, fatigue with every PPV (see the module doc)."""

    PRICE_RANGE = (25.0, 35.0)
    LIFT_HOOK, LIFT, FATIGUE = "exclusivity", 1.4, 0.88

    def __init__(self, seed: int = 0, **kw):
        super().__init__(seed, **kw)
        self.offers: dict = {}  # fan id -> PPVs offered so far
        self.before: dict = {}  # message id -> PPVs the fan had been offered before it

    def _factor(self, fan, message) -> float:
        lift = self.LIFT if message.hook == self.LIFT_HOOK else 1.0
        return lift * self.FATIGUE ** self.before.get(message.id, self.offers.get(fan.id, 0))

    def purchase_probability(self, fan, message: BotMessage) -> float:
        boost = fan.buy_boost
        fan.buy_boost = boost * self._factor(fan, message)  # as react() reads it
        try:
            odds = purchase_probability(fan, message.price, message.hook, message.content_key, message.hour)
            return heard(fan) * odds
        finally:
            fan.buy_boost = boost

    def react(self, fan, message: BotMessage, rng: random.Random) -> list[Reaction]:
        if message.price <= 0:
            return super().react(fan, message, rng)
        self.before.setdefault(message.id, self.offers.get(fan.id, 0))
        boost = fan.buy_boost
        fan.buy_boost = boost * self._factor(fan, message)  # the base model reads the odds through buy_boost
        try:
            return super().react(fan, message, rng)
        finally:
            fan.buy_boost = boost
            self.offers[fan.id] = self.offers.get(fan.id, 0) + 1


class WhaleHeavyFans(DemoFans):
    """One fan in ten a whale paying $50-100, the rest rarely over $15 (see the module doc)."""

    def __init__(self, seed: int = 0, **kw):
        super().__init__(seed, **kw)
        self.seed = seed

    def make_fan(self, fan_id: int, rng: random.Random) -> SimFan:
        fan = super().make_fan(fan_id, rng)
        own = random.Random(f"{self.seed}:{fan_id}:whaleheavy")
        fan.is_whale = own.random() < 0.10
        if fan.is_whale:
            fan.max_price, fan.price_softness = own.uniform(50, 100), own.uniform(8, 20)
            fan.base_buy, fan.tip_prob = own.uniform(0.75, 0.95), own.uniform(0.2, 0.4)
        else:
            fan.max_price, fan.price_softness = own.uniform(6, 15), own.uniform(2.5, 5)
        return fan


class LiftFans:
    """An audience whose learning arm buys (1 + lift) times as often as the control (see the module doc)."""

    def __init__(self, seed: int = 0, p: float = 0.3, lift: float = 0.5):
        if not 0 < p * (1 + lift) <= 1:
            raise ValueError("p × (1 + lift) must be a probability")
        self.p, self.lift = p, lift

    def make_fan(self, fan_id: int, rng: random.Random) -> dict:
        return {"id": fan_id, "arm": "", "offered": False}

    def assigned(self, fan: dict, arm: str):
        fan["arm"] = arm

    def first_message(self, fan: dict, rng: random.Random) -> str | None:
        return None

    def purchase_probability(self, fan: dict, message: BotMessage) -> float:
        return self.p * (1 + self.lift) if fan["arm"] == "learning" else self.p

    def react(self, fan: dict, message: BotMessage, rng: random.Random) -> list[Reaction]:
        if fan["offered"]:
            return []
        if message.price > 0:
            fan["offered"] = True
            bought = rng.random() < self.purchase_probability(fan, message)
            return [Reaction.purchase(message.id, message.price)] if bought else []
        return [Reaction.reply(rng.choice(SMALL_TALK))]

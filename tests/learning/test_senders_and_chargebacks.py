"""Who sent a PPV (bot, bot draft approved, human-edited, human) is split in the learning stats, each kind
marked so a person's sends can be left out; a sale taken back shows in the [STATS] block's chargeback line."""

from decimal import Decimal

from learning.models import Outcome
from learning.services import record_action, record_outcome, reverse_outcome
from learning.stats import aggregate_learning_stats
from learning.stats.block import format_stats_block
from tests.factories import FanFactory


def ppv(fan, price, bought=False, **fields):
    a = record_action(fan, "ppv", price=Decimal(price), hook="scarcity", content_key="combo", status="sent", **fields)
    if bought:
        record_outcome(fan, "purchased", amount=Decimal(price), action=a, pinned=True)
    return a


def test_stats_split_bot_approved_edited_and_human_sends(creator):
    fan = FanFactory(creator=creator)
    ppv(fan, "18", bought=True)  # the bot, as it decided
    ppv(fan, "18", source="llm")
    ppv(fan, "25", bought=True, review="approved")  # a bot draft a person approved as is
    ppv(fan, "30", bought=True, review="edited")  # a bot draft a person changed
    ppv(fan, "40", bought=True, source="staff")  # the console
    ppv(fan, "12", source="human")  # the platform UI
    split = aggregate_learning_stats(creator, use_cache=False)["by_sender"]
    assert split["bot"] == {
        "sent": 2,
        "bought": 1,
        "rate": 50.0,
        "net_revenue": 18.0,
        "revenue_per_send": 9.0,
        "human": False,
    }
    assert split["bot_draft_approved"]["net_revenue"] == 25.0 and not split["bot_draft_approved"]["human"]
    assert split["human_edited"]["net_revenue"] == 30.0 and split["human_edited"]["human"]
    assert split["human"]["sent"] == 2 and split["human"]["net_revenue"] == 40.0 and split["human"]["human"]


def test_a_reversed_sale_shows_in_the_stats_block_and_leaves_the_revenue(creator):
    fan = FanFactory(creator=creator)
    ppv(fan, "25", bought=True)
    ppv(fan, "25", bought=True)
    reverse_outcome(Outcome.objects.filter(event="purchased").first(), "chargeback")
    stats = aggregate_learning_stats(creator, use_cache=False)
    assert stats["conversion_by_price"]["25"]["bought"] == 1
    block = format_stats_block(stats)
    assert "chargeback_rate (sales taken back, already out of revenue): $25: 50.0% (1 of 2)" in block
    assert "scarcity: 50.0% (1 of 2)" in block

import pytest

from fans.models import FanTransition
from fans.state_machine import STAFF_ONLY, TRANSITIONS, FanState, IllegalTransition, transition
from tests.factories import FanFactory

S = FanState

SEED_MOVES = [
    (S.NEW, S.GREETED),
    (S.GREETED, S.ENGAGED),
    (S.ENGAGED, S.PITCHED),
    (S.PITCHED, S.BUYER),
    (S.PITCHED, S.ENGAGED),
    (S.BUYER, S.WHALE_CANDIDATE),
    (S.WHALE_CANDIDATE, S.HANDED_OFF),
    (S.DORMANT, S.ENGAGED),
] + [(s, S.DORMANT) for s in (S.NEW, S.GREETED, S.ENGAGED, S.PITCHED, S.BUYER, S.WHALE_CANDIDATE)]


@pytest.mark.parametrize("src,dst", sorted(TRANSITIONS))
def test_every_legal_move_applies_and_is_recorded(db, src, dst):
    fan = FanFactory(state=src)
    transition(fan, dst, "because")
    fan.refresh_from_db()
    assert fan.state == dst
    t = FanTransition.objects.get(fan=fan)
    assert (t.from_state, t.to_state, t.reason, t.by_staff) == (src, dst, "because", False)


@pytest.mark.parametrize("src,dst", SEED_MOVES)
def test_seed_section_7_moves_are_all_legal(src, dst):
    assert (src, dst) in TRANSITIONS


@pytest.mark.parametrize(
    "src,dst",
    [
        (S.BUYER, S.NEW),
        (S.ENGAGED, S.NEW),  # new/greeted → pitched became legal with issue #15
        (S.DORMANT, S.PITCHED),
        (S.HANDED_OFF, S.ENGAGED),
        (S.HANDED_OFF, S.DORMANT),
        (S.HANDED_OFF, S.PITCHED),
        (S.NEW, S.WHALE_CANDIDATE),
        (S.BUYER, S.PITCHED),
    ],
)
def test_illegal_moves_raise_and_change_nothing(db, src, dst):
    fan = FanFactory(state=src)
    with pytest.raises(IllegalTransition, match=f"{src} → {dst}"):
        transition(fan, dst, "nope")
    fan.refresh_from_db()
    assert fan.state == src
    assert not FanTransition.objects.filter(fan=fan).exists()


@pytest.mark.parametrize("src", [S.NEW, S.GREETED])
def test_a_ppv_to_a_new_or_greeted_fan_pitches_the_fan_with_its_reason(src):
    assert TRANSITIONS[(src, S.PITCHED)] == "PPV sent before any rapport (buying signal)"


def test_handed_off_is_left_only_by_staff(db):
    fan = FanFactory(state=S.HANDED_OFF)
    assert (S.HANDED_OFF, S.ENGAGED) in STAFF_ONLY
    with pytest.raises(IllegalTransition):
        transition(fan, S.ENGAGED, "bot tries")
    transition(fan, S.ENGAGED, "staff resumes", by_staff=True)
    fan.refresh_from_db()
    assert fan.state == S.ENGAGED
    assert FanTransition.objects.get(fan=fan).by_staff is True


def test_no_state_leaves_handed_off_automatically():
    assert not [pair for pair in TRANSITIONS if pair[0] == S.HANDED_OFF]


def test_all_eight_states_exist():
    assert {s.value for s in S} == {
        "new",
        "greeted",
        "engaged",
        "pitched",
        "buyer",
        "whale_candidate",
        "handed_off",
        "dormant",
    }


# --- conditional writes: a stale in-memory fan never overwrites a newer state ----------------------


def test_a_stale_fan_handed_off_meanwhile_cannot_be_moved_to_dormant(db):
    from fans.models import Fan
    from fans.state_machine import StaleState

    stale = FanFactory(state=S.ENGAGED)
    fresh = Fan.objects.get(pk=stale.pk)
    transition(fresh, S.HANDED_OFF, "safety: possible minor")  # another process, meanwhile
    with pytest.raises(StaleState, match="expected engaged but it is now handed_off"):
        transition(stale, S.DORMANT, "24h no activity")
    assert stale.state == S.HANDED_OFF  # the in-memory fan is refreshed
    stale.refresh_from_db()
    assert stale.state == S.HANDED_OFF
    assert list(FanTransition.objects.filter(fan=stale).values_list("from_state", "to_state")) == [
        (S.ENGAGED, S.HANDED_OFF)
    ]


def test_stale_state_is_an_illegal_transition(db):
    from fans.state_machine import StaleState

    assert issubclass(StaleState, IllegalTransition)


def test_a_safety_handoff_from_a_stale_fan_still_lands(db):
    from fans.models import Fan
    from fans.services import hand_off

    stale = FanFactory(state=S.PITCHED)
    transition(Fan.objects.get(pk=stale.pk), S.BUYER, "fan purchases")  # another process, meanwhile
    hand_off(stale, "safety: possible minor", safety=True)
    stale.refresh_from_db()
    assert (stale.state, stale.safety_flag) == (S.HANDED_OFF, True)
    assert FanTransition.objects.get(fan=stale, to_state=S.HANDED_OFF).from_state == S.BUYER

"""How much the bot may write on its own for one fan: the fan's override, else the creator's mode
(team.models.Autonomy). The worker asks after the contact rule, so safety and the rule hold in every mode."""
from team.models import Autonomy


def mode(creator, fan) -> str:
    return getattr(fan, "autonomy", "") or creator.autonomy or Autonomy.AUTOPILOT

"""The holdout experiment's coin (learning.experiments), free of Django so a simulator can toss it too.

draw() is a uniform number in [0, 1) fixed by the experiment and the platform fan id (SHA-256), so a fan's
arm is the same whoever asks and however often; arm() turns it into "control" (draw < control_share) or
"learning". The live fan simulator (sim.fan_simulator, `make run --true-lift`) uses it to know which
simulated fans are in the learning arm, the way a real audience would not: only to give that arm a known lift.
"""

import hashlib


def draw(experiment_id: int, platform_fan_id: int) -> float:
    digest = hashlib.sha256(f"{experiment_id}:{platform_fan_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def arm(experiment_id: int, platform_fan_id: int, control_share: float) -> str:
    return "control" if draw(experiment_id, platform_fan_id) < control_share else "learning"

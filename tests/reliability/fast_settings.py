"""Production settings with short clocks, so a crash test sees recovery in seconds, not minutes:
a dead worker's fan lease expires after 3 s and the ORM broker re-delivers an unacknowledged task
after 8 s (production: 180 s and 120 s)."""

from salesbot.settings import *  # noqa: F401,F403
from salesbot.settings import Q_CLUSTER

WORKER_LEASE_S = 3
# One item must fit in the short task timeout: the model answers fast here, the platform may stall 3 s.
LLM_TIMEOUT_S, LLM_MAX_RETRIES, PLATFORM_TIMEOUT_S = 1.0, 0, 4.0
SILENCED_SYSTEM_CHECKS = ["salesbot.W002"]  # the 3 s lease is the point of these tests
Q_CLUSTER = {**Q_CLUSTER, "timeout": 6, "retry": 8}

"""Production clocks where recovery is concerned (the 180 s lease, a broker that re-delivers a lost task only
after 180 s), so a test sees whether a crash is recovered in seconds by noticing it, not by waiting."""

from salesbot.settings import *  # noqa: F401,F403
from salesbot.settings import Q_CLUSTER

WORKER_LEASE_S = 180
LLM_TIMEOUT_S, LLM_MAX_RETRIES, PLATFORM_TIMEOUT_S = 1.0, 0, 4.0
Q_CLUSTER = {**Q_CLUSTER, "timeout": 30, "retry": 180}

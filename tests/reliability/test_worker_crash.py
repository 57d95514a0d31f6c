"""kill -9 of the qcluster while its worker is sending to a fan: once a cluster runs again, the task runs
again and the fan still gets exactly one message (the resend reuses the Action's idempotency key)."""

import pytest

from tests.reliability.system import System, wait_until

pytestmark = pytest.mark.integration
FAN = 4711


def test_worker_killed_mid_send_resumes_and_the_fan_gets_exactly_one_message(tmp_path):
    with System(tmp_path) as s:
        # The platform stalls the first send for 3 s, then records it: the dangerous case, where the
        # platform has the message but the dead worker never learnt so.
        s.fake.fake("POST", "fail", json={"delay": 3, "times": 1})
        s.fake.fake("POST", "webhook", json={"event": "subscriptions.new", "payload": {"fan": {"id": FAN}}})
        assert wait_until(lambda: s.fake.fake("GET", "stats")["delayed"] == 1), s.output()
        item = s.sql(
            "select q.id, q.status, q.attempts, a.status from salesbot_queueitem q "
            "join learning_action a on q.action_id = a.id"
        )
        assert item and item[0][1:] == ("working", 1, "pending"), item
        s.kill_cluster()

        assert wait_until(lambda: s.sent_to(FAN), timeout=10), "the stalled send never completed"
        assert s.sql("select status from salesbot_queueitem") == [("working",)]  # nobody knows it went out

        s.start_cluster()
        done = wait_until(
            lambda: s.sql("select status, attempts from salesbot_queueitem where status = 'done'"), timeout=60
        )
        assert done == [("done", 2)], (done, s.output())  # worked a second time, by the new cluster
        wait_until(lambda: False, timeout=1.5)  # anything extra would show up now
        sent = s.sent_to(FAN)
        assert len(sent) == 1, sent
        action = s.sql("select status, platform_message_id, uuid from learning_action")
        assert len(action) == 1 and action[0][0] == "sent" and action[0][1] == sent[0]["id"]
        assert sent[0]["idempotency_key"].replace("-", "") == action[0][2].replace("-", "")

"""yeastar-gateway when the PBX goes away and comes back, and when the
gateway itself is killed: a 30-second outage of each kind (HTTP 503 to
everything, connections closed, requests left unanswered until the timeout)
during which desired statuses change, then every one of them on the PBX
within 10 s of its return; and after a kill -9, the retained topics the
gateway owns match what it knows, stale ones emptied (an extension that
left the PBX directory, a removed site)."""
import json
import time
import unittest

from gateway_case import GatewayCase, desired

OUTAGE_S = 30
CATCH_UP_S = 10  # a correctness bound (docs/gateway.md), not a benchmark


class Outage(GatewayCase):
    area = "74"

    def start_gateway(self, n=10):
        since = super().start_gateway(n)
        self.stack.bus.wait("site/main/status", lambda p: p["state"] == "ok", since=since)

    def wait_presence(self, want, deadline):
        while time.time() < deadline:
            shown = self.presence()
            if all(shown.get(k) == v for k, v in want.items()):
                return
            time.sleep(0.1)
        shown = self.presence()
        self.fail("not on the PBX in time: " + ", ".join(
            f"{k} shows {shown.get(k)}, wanted {v}" for k, v in want.items()
            if shown.get(k) != v))

    def outage(self, start, end, trigger):
        """A PBX outage started by `start`, ended by `end`; `trigger`
        publishes the first changes (which meet the outage). Desired
        statuses keep changing during it; all are on the PBX within
        CATCH_UP_S of its return."""
        s = self.stack
        began = time.time()
        start()
        want = trigger()
        st = s.bus.wait("site/main/status", lambda p: p["state"] == "unreachable",
                        since=began, timeout=20)
        # Changes during the outage: new extensions, and one changed thrice.
        for ext, status in (("2005", "lunch"), ("2006", "away"), ("2001", "lunch"),
                            ("2007", "off_work"), ("2001", "business_trip")):
            s.bus.publish(f"ext/main/{ext}/desired", desired(status), retain=True)
            want[ext] = status
            time.sleep(1)
        time.sleep(max(0.0, began + OUTAGE_S - time.time()))
        shown = self.presence()
        self.assertNotEqual({k: shown[k] for k in want}, want, "nothing waited")
        back = time.time()
        end()
        self.wait_presence(want, back + CATCH_UP_S)
        s.bus.wait("events/pbx_recovered", since=back, timeout=CATCH_UP_S)
        for ext, status in want.items():
            s.bus.wait(f"ext/main/{ext}/state",
                       lambda p, st=status: p["status"] == st and p["in_sync"])
        s.bus.wait("site/main/status", lambda p: p["state"] == "ok", since=back)
        # One pbx_error for the whole outage, however many requests met it.
        errors = [m for m in s.bus.messages
                  if m[1] == "events/pbx_error" and began <= m[0] < back]
        self.assertEqual(len(errors), 1, errors)
        return st

    def first_changes(self):
        want = {"2000": "away", "2002": "do_not_disturb", "2003": "lunch",
                "2004": "away"}
        for ext, status in want.items():
            self.stack.bus.publish(f"ext/main/{ext}/desired", desired(status),
                                   retain=True)
        return want

    def test_http_503_for_30s(self):
        # The default APPLY_RETRY_MAX_SECONDS (300): extensions backing off
        # on their own would still wait long after the PBX is back.
        s = self.make()
        self.start_gateway()
        st = self.outage(
            lambda: s.sim_post("/sim/config", {"error_rate": 1, "error_status": 503}),
            lambda: s.sim_post("/sim/config", {"error_rate": 0}),
            self.first_changes)
        self.assertIn("HTTP 503", st["error"])
        # Down after a few 503 in a row: no apply_failed storm.
        failed = [m for m in s.bus.messages if m[1] == "events/apply_failed"]
        self.assertLessEqual(len(failed), 2, failed)

    def test_connections_refused_for_30s(self):
        s = self.make()
        self.start_gateway()
        self.outage(lambda: s.sim_post("/sim/outage", {"on": True}),
                    lambda: s.sim_post("/sim/outage", {"on": False}),
                    self.first_changes)

    def test_no_answer_for_30s(self):
        # The PBX takes every connection and answers nothing before the
        # gateway's timeout. Only a directory read meets it first: an
        # update that timed out may still be applied by the PBX later.
        s = self.make(env={"PBX_TIMEOUT_SECONDS": "2"})
        self.start_gateway()

        def trigger():
            s.bus.publish("svc/yeastar-gateway/request/directory/refresh",
                          json.dumps({"site": "main"}))
            s.bus.wait("site/main/status", lambda p: p["state"] == "unreachable",
                       timeout=20)
            return self.first_changes()
        self.outage(lambda: s.sim_post("/sim/config", {"latency_ms": 8000}),
                    lambda: s.sim_post("/sim/config", {"latency_ms": 0}),
                    trigger)


class RetainedAfterRestart(GatewayCase):
    area = "74"

    def cleared(self, topic, since):
        """The gateway empties topic after `since`, and nothing follows."""
        self.stack.bus.wait(topic, lambda p: p == "", since=since)
        time.sleep(0.5)
        self.assertEqual(self.stack.bus.last(topic), "", topic)

    def test_extension_gone_while_killed(self):
        s = self.make(6)
        since = time.time()
        s.start("yeastar-gateway")
        s.bus.wait("ext/main/2003/state", since=since)
        s.bus.wait("site/main/directory", lambda p: len(p["extensions"]) == 6)
        s.procs["yeastar-gateway"].kill9()
        # Removed on the PBX while the gateway is dead: its restart reads a
        # directory without it, and nothing it publishes mentions 2003.
        s.sim_post("/sim/extensions/remove", {"number": "2003"})
        since = time.time()
        s.start("yeastar-gateway")
        s.bus.wait("site/main/directory", lambda p: len(p["extensions"]) == 5,
                   since=since)
        self.cleared("ext/main/2003/state", since)
        s.bus.wait("ext/main/2002/state", lambda p: p["status"] == "available",
                   since=since)
        self.assertIn("retained ext/main/2003/state cleared",
                      s.procs["yeastar-gateway"].log())

    def test_site_removed_then_killed(self):
        s = self.make(4)
        since = time.time()
        s.start("yeastar-gateway")
        s.bus.wait("site/main/status", lambda p: p["state"] == "ok", since=since)
        url = f"http://127.0.0.1:{s.sim_port}"
        r = s.bus.request("yeastar-gateway", "site/add",
                          {"name": "b", "url": url, "client_id": "presencebus-demo",
                           "client_secret": "demo-secret-0123456789abcdef0123"})
        self.assertEqual(r["status"], "ok", r)
        s.bus.wait("site/b/directory", lambda p: len(p["extensions"]) == 4)
        s.bus.wait("site/b/status", lambda p: p["state"] == "ok")
        s.bus.wait("ext/b/2001/state")
        kept = {t: s.bus.last(t) for t in ("site/b/status", "site/b/directory",
                                           "ext/b/2001/state")}
        r = s.bus.request("yeastar-gateway", "site/remove", {"name": "b"})
        self.assertEqual(r["status"], "ok", r)
        s.procs["yeastar-gateway"].kill9()
        # As if the clearing had not reached the broker before the kill.
        for topic, payload in kept.items():
            self.assertIsNotNone(payload, topic)
            s.bus.publish(topic, payload, retain=True)
        since = time.time()
        s.start("yeastar-gateway")
        s.bus.wait("site/main/status", lambda p: p["state"] == "ok", since=since)
        for topic in kept:
            self.cleared(topic, since)
        # The site still served keeps its topics.
        self.assertNotEqual(s.bus.last("site/main/directory"), "")
        self.assertNotEqual(s.bus.last("ext/main/2001/state"), "")

    def test_stale_state_republished(self):
        # A retained state that says something the gateway no longer
        # believes (the broker kept an old one) is replaced.
        s = self.make(4)
        since = time.time()
        s.start("yeastar-gateway")
        s.bus.wait("ext/main/2001/state", since=since)
        s.bus.wait("site/main/status", lambda p: p["state"] == "ok", since=since)
        stale = dict(json.loads(s.bus.last("ext/main/2001/state")),
                     status="off_work", in_sync=False)
        status = dict(json.loads(s.bus.last("site/main/status")),
                      state="auth_failed", error="stale")
        s.procs["yeastar-gateway"].kill9()
        s.bus.publish("ext/main/2001/state", json.dumps(stale), retain=True)
        s.bus.publish("site/main/status", json.dumps(status), retain=True)
        since = time.time()
        s.start("yeastar-gateway")
        s.bus.wait("ext/main/2001/state", lambda p: p and p["status"] == "available",
                   since=since)
        s.bus.wait("site/main/status", lambda p: p and p["state"] == "ok",
                   since=since)
        time.sleep(0.5)
        self.assertEqual(json.loads(s.bus.last("ext/main/2001/state"))["status"],
                         "available")


if __name__ == "__main__":
    unittest.main(verbosity=2)

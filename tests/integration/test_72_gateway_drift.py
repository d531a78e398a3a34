"""Drift: a status changed on the phone (the simulator's /sim/presence),
seen by yeastar-gateway's read-back or by a 30009 PBX event relayed on
R/site/<site>/pbx_event. DRIFT_POLICY=respect keeps the person's choice
until the next boundary of their planning (across a kill -9), then applies
what the planning says; enforce puts the planned status back at once.
Malformed PBX events are refused and change nothing."""
import json
import time
import unittest

from harness import Stack, parse_time, rfc3339


def desired(status, next_at=None, next_status=None, since=None):
    nxt = {"at": rfc3339(next_at), "status": next_status} if next_at else None
    return json.dumps({"status": status, "cause": "schedule",
                       "since": since or rfc3339(time.time()), "next_change": nxt,
                       "slot": None, "override": None})


def envelope(ext, status, as_string=True, kind=30009):
    msg = {"extension": ext, "status": status}
    return json.dumps({"type": kind, "sn": "3631A2124XXX",
                       "msg": json.dumps(msg) if as_string else msg})


class Drift(unittest.TestCase):
    def make(self, env):
        # Events here come relayed (R/site/<site>/pbx_event) or read back;
        # the WebSocket feed's are test_75's.
        env = {"PBX_EVENT_FEED": "off", **env}
        self.stack = Stack(f"72_gateway_{self._testMethodName}",
                           sim_args=["--extensions", "5"], env=env)
        since = time.time()
        self.stack.start("yeastar-gateway")
        self.stack.bus.wait("site/main/directory", since=since)
        return self.stack

    def tearDown(self):
        codes = self.stack.stop()
        self.assertEqual(self.stack.sanitizer_reports(), [])
        for name, code in codes.items():
            self.assertIn(code, (0, -9), f"{name} exited with {code}")

    def updates_for(self, ext_id):
        return [json.loads(r["body"])["presence_status"] for r in self.stack.sim_updates()
                if json.loads(r["body"])["id"] == ext_id]

    def phone(self, ext, status):
        self.stack.sim_post("/sim/presence", {"number": ext, "presence_status": status})

    def test_respect_until_the_next_boundary(self):
        s = self.make({"PBX_READBACK_SECONDS": "1"})
        boundary = time.time() + 12
        s.bus.publish("ext/main/2001/desired",
                      desired("lunch", boundary, "available"), retain=True)
        s.wait_sim_update(2, "lunch")
        since = time.time()
        self.phone("2001", "away")
        ev = s.bus.wait("events/drift", since=since)
        self.assertEqual((ev["action"], ev["policy"], ev["status"], ev["previous"],
                          ev["desired"], ev["source"]),
                         ("kept", "respect", "away", "lunch", "lunch", "readback"))
        self.assertEqual(parse_time(ev["until"]), int(boundary))
        st = s.bus.wait("ext/main/2001/state", lambda p: p["drift"] is not None,
                        since=since)
        self.assertEqual((st["status"], st["in_sync"]), ("away", False))
        self.assertEqual(parse_time(st["drift"]["until"]), int(boundary))
        # The choice survives a crash: the same retained decision comes back
        # and is recognised.
        s.procs["yeastar-gateway"].kill9()
        again = time.time()
        s.start("yeastar-gateway")
        s.bus.wait("site/main/directory", since=again)
        time.sleep(2.5)  # two read-backs
        self.assertEqual(self.updates_for(2), ["lunch"])
        self.assertEqual(s.sim_get("/sim/extensions")[1]["presence_status"], "away")
        # At the boundary the planning moves on to what next_change said.
        s.wait_sim_update(2, "available", timeout=30)
        self.assertGreaterEqual(time.time(), int(boundary) - 0.05, "applied before the boundary")
        ev = s.bus.wait("events/drift", lambda p: p["action"] == "ended", since=again)
        self.assertEqual(ev["ext"], "2001")
        s.bus.wait("ext/main/2001/state",
                   lambda p: p["status"] == "available" and p["drift"] is None)

    def test_respect_without_boundary_until_the_decision_changes(self):
        s = self.make({"PBX_READBACK_SECONDS": "1"})
        s.bus.publish("ext/main/2002/desired", desired("off_work"), retain=True)
        s.wait_sim_update(3, "off_work")
        since = time.time()
        self.phone("2002", "available")
        ev = s.bus.wait("events/drift", since=since)
        self.assertIsNone(ev["until"])
        st = s.bus.wait("ext/main/2002/state", lambda p: p["drift"] is not None)
        self.assertIsNone(st["drift"]["until"])
        time.sleep(2)
        self.assertEqual(self.updates_for(3), ["off_work"])
        # An override (a new decision) ends it.
        s.bus.publish("ext/main/2002/desired", desired("do_not_disturb"), retain=True)
        s.wait_sim_update(3, "do_not_disturb")
        s.bus.wait("events/drift", lambda p: p["action"] == "ended", since=since)

    def test_enforce_puts_the_planned_status_back(self):
        s = self.make({"PBX_READBACK_SECONDS": "1", "DRIFT_POLICY": "enforce"})
        s.bus.publish("ext/main/2003/desired", desired("business_trip"), retain=True)
        s.wait_sim_update(4, "business_trip")
        since = time.time()
        self.phone("2003", "away")
        ev = s.bus.wait("events/drift", since=since)
        self.assertEqual((ev["action"], ev["policy"], ev["status"]),
                         ("enforced", "enforce", "away"))
        deadline = time.time() + 15
        while self.updates_for(4) != ["business_trip", "business_trip"]:
            self.assertLess(time.time(), deadline, self.updates_for(4))
            time.sleep(0.1)
        s.bus.wait("ext/main/2003/state",
                   lambda p: p["status"] == "business_trip" and p["in_sync"], since=since)

    def test_relayed_pbx_events(self):
        s = self.make({"PBX_READBACK_SECONDS": "0"})
        s.bus.publish("ext/main/2004/desired", desired("lunch"), retain=True)
        s.wait_sim_update(5, "lunch")
        time.sleep(2.2)  # past the grace after our own change
        since = time.time()
        self.phone("2004", "do_not_disturb")
        s.bus.publish("site/main/pbx_event", envelope("2004", "do_not_disturb"))
        ev = s.bus.wait("events/drift", since=since)
        self.assertEqual((ev["action"], ev["source"], ev["status"]),
                         ("kept", "pbx_event", "do_not_disturb"))
        # Back to the planned status on the phone (msg as an object this time).
        self.phone("2004", "lunch")
        s.bus.publish("site/main/pbx_event", envelope("2004", "lunch", as_string=False))
        s.bus.wait("events/drift", lambda p: p["action"] == "ended", since=since)
        s.bus.wait("ext/main/2004/state", lambda p: p["in_sync"] and p["drift"] is None,
                   since=since)
        # Other event types and unknown extensions are ignored; bad ones refused.
        s.bus.publish("site/main/pbx_event", envelope("2004", "Ringing", kind=30008))
        s.bus.publish("site/main/pbx_event", envelope("9999", "away"))
        for payload, reason in (("not json", "invalid JSON"),
                                ('{"sn":"x","msg":"{}"}', "'type'"),
                                ('{"type":30009,"msg":"{\\"extension\\":\\"2004\\"}"}',
                                 "'status'"),
                                ('{"type":30009,"msg":"nope"}', "'msg'"),
                                (envelope("2004", "holiday"), "unknown status 'holiday'")):
            t = time.time()
            s.bus.publish("site/main/pbx_event", payload)
            err = s.bus.wait("events/error", since=t)
            self.assertIn(reason, err["error"])
            self.assertEqual(err["topic"], "site/main/pbx_event")
        time.sleep(0.5)
        self.assertEqual(self.updates_for(5), ["lunch"])
        self.assertEqual([m for m in s.bus.messages if m[1] == "events/drift"
                          and m[0] >= since and '"kept"' in m[2]][1:], [])


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""The first real path through all four services, on a real mosquitto and
the PBX simulator: a CSV weekly planning makes the PBX change at the
boundary; an override published with plain MQTT reaches the PBX and
expires back to the planning; the web API shows it; the gateway reuses its
token after a restart."""
import datetime
import sys
import time
import unittest

from harness import Stack, parse_time, rfc3339

PARIS = datetime.timezone(datetime.timedelta(hours=2))
# Monday 30 March 2026, the first Monday after the switch to summer time.
BOUNDARY = datetime.datetime(2026, 3, 30, 8, 0, 0, tzinfo=PARIS).timestamp()

PLANNING = """extension,day,start_time,end_time,status
2000,lundi,08:00,12:00,business_trip
2001,monday,07:00,08:00,away
2002,mardi,08:00,12:00,lunch
"""


class EndToEnd(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        # Services start six seconds before 08:00 on the fake clock.
        cls.stack = Stack("30_end_to_end", fake_time=BOUNDARY - 6,
                          sim_args=["--extensions", "5"]).start()

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.stop()
        reports = cls.stack.sanitizer_reports()
        if reports:
            raise AssertionError(f"sanitizer reports: {reports}")
        for name, code in codes.items():
            if code != 0:
                raise AssertionError(f"{name} exited with {code} on SIGTERM")

    def test_1_planning_reaches_the_pbx_at_the_boundary(self):
        s = self.stack
        with open(f"{s.dir}/planning.csv", "w") as f:
            f.write(PLANNING)
        r = s.run_cli("ical-ingest", "--import", f"{s.dir}/planning.csv")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("imported 3 slots for 3 extensions", r.stdout)
        sched = s.bus.wait("ext/main/2000/schedule", lambda p: len(p["slots"]) >= 2)
        first = sched["slots"][0]
        self.assertEqual(first["start"], "2026-03-30T08:00:00+02:00")
        self.assertEqual(first["status"], "business_trip")
        # Before the boundary: 2000 is at its default, 2001 in its slot.
        s.bus.wait("ext/main/2000/desired", lambda p: p["cause"] == "default"
                   and (p["next_change"] or {}).get("at") == "2026-03-30T08:00:00+02:00")
        s.bus.wait("ext/main/2001/desired", lambda p: p["status"] == "away")
        s.wait_sim_update(2, "away")
        # The PBX receives business_trip for id 1 (extension 2000) at 08:00.
        update = s.wait_sim_update(1, "business_trip", timeout=30)
        received = parse_time(update["time"])
        boundary_real = s.real_time_of(BOUNDARY)
        self.assertGreaterEqual(received, boundary_real - 0.05,
                                "the status was applied before the slot began")
        print(f"boundary -> PBX update: {received - boundary_real:+.3f}s", file=sys.stderr)
        desired = s.bus.wait("ext/main/2000/desired",
                             lambda p: p["status"] == "business_trip")
        self.assertEqual(desired["cause"], "schedule")
        self.assertEqual(desired["since"], "2026-03-30T08:00:00+02:00")
        self.assertEqual(desired["next_change"],
                         {"at": "2026-03-30T12:00:00+02:00", "status": "available"})
        s.wait_sim_update(2, "available")
        state = s.bus.wait("ext/main/2000/state",
                           lambda p: p["status"] == "business_trip" and p["in_sync"])
        self.assertEqual(state["name"], "Alice Martin")

    def test_2_override_over_mqtt_reaches_pbx_and_expires(self):
        s = self.stack
        s.wait_sim_update(1, "business_trip", timeout=30)
        after = max(u["seq"] for u in s.sim_updates())
        until = s.fake_now() + 4
        s.bus.publish("ext/main/2000/override/set",
                      '{"status":"away","until":"%s","reason":"sick","by":"test"}'
                      % rfc3339(until))
        ov = s.bus.wait("ext/main/2000/override", lambda p: isinstance(p, dict))
        self.assertEqual(ov["reason"], "sick")
        self.assertEqual(ov["by"], "test")
        ev = s.bus.wait("events/override", lambda p: p["action"] == "set")
        self.assertEqual(ev["ext"], "2000")
        s.wait_sim_update(1, "away", after_seq=after)
        after = max(u["seq"] for u in s.sim_updates())
        # On expiry the planning is back on the PBX and the override is gone.
        s.bus.wait("events/override", lambda p: p["action"] == "expired", timeout=20)
        s.wait_sim_update(1, "business_trip", after_seq=after, timeout=20)
        s.bus.wait("ext/main/2000/override", lambda p: p == "", timeout=5)

    def test_3_web_api_shows_the_extensions(self):
        s = self.stack
        s.wait_sim_update(1, "business_trip", timeout=30)
        status, body, _ = s.http("GET", "/api/extensions")
        self.assertEqual(status, 200)
        numbers = [e["number"] for e in body["extensions"]]
        self.assertEqual(numbers[:5], ["2000", "2001", "2002", "2003", "2004"])
        deadline = time.time() + 10
        while time.time() < deadline:
            status, one, _ = s.http("GET", "/api/extensions/2000")
            if one["pbx"]["status"] == "business_trip" and one["desired"]["cause"] == "schedule":
                break
            time.sleep(0.1)
        self.assertEqual(one["name"], "Alice Martin")
        self.assertEqual(one["desired"]["status"], "business_trip")
        self.assertEqual(one["pbx"]["status"], "business_trip")
        self.assertTrue(one["pbx"]["in_sync"])
        status, missing, _ = s.http("GET", "/api/extensions/9999")
        self.assertEqual(status, 404)
        self.assertIn("9999", missing["error"])

    def test_4_gateway_reuses_its_token_after_restart(self):
        s = self.stack
        self.assertEqual(s.sim_get("/sim/stats")["logins"], 1)
        s.procs["yeastar-gateway"].stop()
        s.bus.wait("svc/yeastar-gateway/availability", lambda v: v == "offline")
        s.start("yeastar-gateway")
        s.bus.wait("site/main/directory", lambda p: len(p["extensions"]) == 5,
                   since=time.time() - 0.5)
        self.assertEqual(s.sim_get("/sim/stats")["logins"], 1,
                         "the gateway logged in again instead of reusing its token")
        for r in s.sim_get("/sim/requests"):
            self.assertTrue(r["user_agent"], f"request without User-Agent: {r}")
        log = s.procs["yeastar-gateway"].log()
        self.assertNotIn("demo-secret-0123456789abcdef0123", log)


if __name__ == "__main__":
    unittest.main(verbosity=2)

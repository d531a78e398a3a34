"""yeastar-gateway applying statuses, against a real mosquitto and the PBX
simulator: a 30-second PBX outage during which overrides are set through
the scheduler, then convergence with nothing lost and no storm of failures;
kill -9 with applies pending, then completion from the outbox alone;
nothing sent when the PBX already shows the status; coalescing; the
concurrency and rate bounds; server errors retried; the directory read in
small pages, refreshed on request and by the read-back; bad input refused."""
import json
import time
import unittest

from gateway_case import GatewayCase, desired
from harness import parse_time

SECRET = "demo-secret-0123456789abcdef0123"
STATUSES = ["away", "lunch", "do_not_disturb", "business_trip", "off_work"]


class Apply(GatewayCase):
    area = "71"

    def wait_presence(self, want, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            shown = self.presence()
            if all(shown.get(k) == v for k, v in want.items()):
                return shown
            time.sleep(0.2)
        self.fail(f"the PBX shows {self.presence()}, wanted {want}")

    def updates(self):
        return [(json.loads(r["body"])["id"], json.loads(r["body"])["presence_status"])
                for r in self.stack.sim_updates()]

    def test_outage_with_overrides_then_convergence(self):
        s = self.make(10)
        s.start("scheduler", "yeastar-gateway")
        s.bus.wait("site/main/status", lambda p: p["state"] == "ok")
        for ext in ("2000", "2004", "2009"):
            s.bus.wait(f"ext/main/{ext}/desired", lambda p: p["status"] == "available")
        since = time.time()
        s.sim_post("/sim/outage", {"on": True})
        # The directory read-back or the first apply meets the outage.
        s.bus.publish("ext/main/2000/override/set", "away")
        st = s.bus.wait("site/main/status", lambda p: p["state"] == "unreachable",
                        since=since, timeout=30)
        self.assertIn("extension/", st["error"])
        ev = s.bus.wait("events/pbx_error", lambda p: p["state"] == "unreachable",
                        since=since)
        self.assertEqual(ev["site"], "main")
        # Overrides keep coming during the outage; 2004 changes three times.
        for ext, status in (("2001", "lunch"), ("2004", "away"), ("2009", "off_work"),
                            ("2004", "lunch"), ("2004", "do_not_disturb")):
            s.bus.publish(f"ext/main/{ext}/override/set", status)
            time.sleep(0.5)
        s.bus.wait("ext/main/2004/state",
                   lambda p: p["status"] == "available" and not p["in_sync"])
        time.sleep(max(0.0, since + 30 - time.time()))
        self.assertEqual(self.presence()["2004"], "available")
        back = time.time()
        s.sim_post("/sim/outage", {"on": False})
        want = {"2000": "away", "2001": "lunch", "2004": "do_not_disturb",
                "2009": "off_work"}
        self.wait_presence(want, timeout=40)
        s.bus.wait("events/pbx_recovered", since=back, timeout=20)
        for ext, status in want.items():
            s.bus.wait(f"ext/main/{ext}/state",
                       lambda p, st=status: p["status"] == st and p["in_sync"])
        s.bus.wait("site/main/status", lambda p: p["state"] == "ok", since=back)
        # Coalesced: 2004 (id 5) got only its last status.
        self.assertEqual([u for u in self.updates() if u[0] == 5], [(5, "do_not_disturb")])
        # No storm: requests waited instead of failing one by one, and only
        # a few probes met the closed PBX.
        failed = [m for m in s.bus.messages if m[1] == "events/apply_failed" and m[0] >= since]
        self.assertEqual(failed, [])
        self.assertLessEqual(s.sim_get("/sim/stats")["dropped"], 12)

    def test_kill9_with_pending_applies(self):
        s = self.make(10, env={"PBX_MAX_CONCURRENCY": "1"})
        self.start_gateway()
        s.sim_post("/sim/config", {"latency_ms": 1500})
        want = {}
        for i, ext in enumerate(["2001", "2002", "2003", "2004", "2005", "2006"]):
            want[ext] = STATUSES[i % len(STATUSES)]
            s.bus.publish(f"ext/main/{ext}/desired", desired(want[ext]), retain=True)
        s.bus.wait("events/apply", timeout=20)
        s.procs["yeastar-gateway"].kill9()
        shown = self.presence()
        self.assertNotEqual({k: shown[k] for k in want}, want, "nothing was pending")
        # Only the outbox knows now: a broker without persistence restarts,
        # so the retained desired statuses (and the gateway's session) are gone.
        s.restart_broker()
        s.sim_post("/sim/config", {"latency_ms": 0})
        self.start_gateway()
        self.wait_presence(want)
        self.assertIn("from the outbox still to apply", s.procs["yeastar-gateway"].log())
        for ext, status in want.items():
            s.bus.wait(f"ext/main/{ext}/state",
                       lambda p, st=status: p["status"] == st and p["in_sync"])

    def test_nothing_sent_when_the_pbx_shows_it(self):
        s = self.make(5)
        self.start_gateway(5)
        s.bus.publish("ext/main/2000/desired", desired("available"), retain=True)
        s.sim_post("/sim/presence", {"number": "2001", "presence_status": "lunch"})
        s.bus.request("yeastar-gateway", "directory/refresh", {"site": "main"})
        s.bus.publish("ext/main/2001/desired", desired("lunch"), retain=True)
        s.bus.publish("ext/main/2002/desired", desired("away"), retain=True)
        s.wait_sim_update(3, "away")
        s.bus.wait("ext/main/2001/state", lambda p: p["status"] == "lunch" and p["in_sync"])
        s.bus.wait("ext/main/2000/state", lambda p: p["in_sync"])
        self.assertEqual(self.updates(), [(3, "away")])

    def test_coalescing_concurrency_and_rate(self):
        s = self.make(20, env={"PBX_MAX_CONCURRENCY": "2", "PBX_RATE_PER_SECOND": "8",
                               "PBX_RATE_BURST": "1"})
        self.start_gateway(20)
        s.sim_post("/sim/config", {"latency_ms": 300})
        s.sim_post("/sim/requests/clear", {})
        s.bus.publish("ext/main/2000/desired", desired("away"), retain=True)
        # its update is on the wire (the PBX answers after 300 ms)
        deadline = time.time() + 10
        while s.sim_get("/sim/stats")["in_flight"] == 0 and time.time() < deadline:
            time.sleep(0.01)
        for status in ("lunch", "business_trip", "off_work"):
            s.bus.publish("ext/main/2000/desired", desired(status), retain=True)
        want = {"2000": "off_work"}
        for i in range(1, 13):
            ext = str(2000 + i)
            want[ext] = STATUSES[i % len(STATUSES)]
            s.bus.publish(f"ext/main/{ext}/desired", desired(want[ext]), retain=True)
        self.wait_presence(want, timeout=40)
        self.assertEqual([u for u in self.updates() if u[0] == 1],
                         [(1, "away"), (1, "off_work")])
        self.assertLessEqual(s.sim_get("/sim/stats")["max_in_flight"], 2)
        times = sorted(r["time"] for r in s.sim_get("/sim/requests"))
        # Never faster than the bucket: 8 per second after a burst of 1, so
        # any 5 consecutive requests span at least 4/8 s (less 0.1 s for
        # the simulator's own scheduling of its threads).
        stamps = [parse_time(t) for t in times]
        for a, b in zip(stamps, stamps[4:]):
            self.assertGreater(b - a, 0.5 - 0.1, "requests started faster than the rate")

    def test_server_errors_are_retried(self):
        s = self.make(6, env={"APPLY_RETRY_MAX_SECONDS": "4"})
        self.start_gateway(6)
        s.sim_post("/sim/config", {"error_rate": 0.3})
        want = {str(2000 + i): STATUSES[i % len(STATUSES)] for i in range(6)}
        for ext, status in want.items():
            s.bus.publish(f"ext/main/{ext}/desired", desired(status), retain=True)
        self.wait_presence(want, timeout=90)
        s.sim_post("/sim/config", {"error_rate": 0})
        failed = [json.loads(m[2]) for m in s.bus.messages if m[1] == "events/apply_failed"]
        for ev in failed:
            self.assertIn("HTTP 500", ev["error"])
            self.assertGreaterEqual(ev["attempts"], 1)

    def test_directory_pages_refresh_and_readback(self):
        s = self.make(23, sim_args=["--max-page-size", "7"],
                      env={"PBX_READBACK_SECONDS": "2"})
        self.start_gateway(23)
        self.assertIn("reading 6 at a time", s.procs["yeastar-gateway"].log())
        since = time.time()
        s.sim_post("/sim/extensions", {"number": "3100", "name": "New Person"})
        r = s.bus.request("yeastar-gateway", "directory/refresh", {"site": "main"})
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual(r["data"]["extensions"], 24)
        d = s.bus.wait("site/main/directory", lambda p: len(p["extensions"]) == 24,
                       since=since)
        self.assertIn({"number": "3100", "id": 24, "name": "New Person"}, d["extensions"])
        s.bus.wait("ext/main/3100/state", lambda p: p["name"] == "New Person")
        # Removed on the PBX: gone from the directory at the next read-back,
        # and its retained state is deleted.
        since = time.time()
        s.sim_post("/sim/extensions/remove", {"number": "2005"})
        d = s.bus.wait("site/main/directory", lambda p: len(p["extensions"]) == 23,
                       since=since)
        self.assertNotIn("2005", [e["number"] for e in d["extensions"]])
        s.bus.wait("ext/main/2005/state", lambda p: p == "", since=since)
        s.bus.wait("ext/main/2005/call", lambda p: p == "", since=since)
        bad = s.bus.request("yeastar-gateway", "directory/refresh", {"site": "nowhere"})
        self.assertEqual(bad, {"status": "error", "error": "no site 'nowhere'",
                               "transaction": bad["transaction"]})

    def test_bad_input_changes_nothing(self):
        s = self.make(5)
        self.start_gateway(5)
        s.bus.publish("ext/main/2001/desired", desired("lunch"), retain=True)
        s.wait_sim_update(2, "lunch")
        for payload, reason in (('{"status":"nap","cause":"override"}', "unknown status 'nap'"),
                                ('{"status":"away"', "invalid JSON"),
                                ('{"status":"away"}', "'cause'")):
            since = time.time()
            s.bus.publish("ext/main/2001/desired", payload)
            ev = s.bus.wait("events/error", lambda p: p["service"] == "yeastar-gateway",
                            since=since)
            self.assertIn(reason, ev["error"])
            self.assertEqual(ev["topic"], "ext/main/2001/desired")
        since = time.time()
        s.bus.publish("ext/main/bad.ext/desired", desired("away"))
        ev = s.bus.wait("events/error", since=since)
        self.assertIn("[A-Za-z0-9_-]", ev["error"])
        for action, body, reason in (
                ("site/add", {"name": "x"}, "'url'"),
                ("site/add", {"name": "x", "url": "ftp://pbx", "client_id": "a",
                              "client_secret": "b"}, "'url'"),
                ("site/add", {"name": "x y", "url": "https://pbx"}, "'name'"),
                ("site/add", {"name": "x", "url": "https://pbx", "client_id": "a",
                              "client_secret": "b", "colour": 1}, "unknown field 'colour'"),
                ("site/add", {"name": "x", "url": "https://pbx", "client_id": "a",
                              "client_secret": "b", "pinned_public_key": "sha256//abc"},
                 "pinned_public_key"),
                ("site/add", {"name": "main", "url": "https://pbx", "client_id": "a",
                              "client_secret": "b"}, "exists already"),
                ("site/update", {"name": "main", "client_id": "b"}, "YEASTAR_*"),
                ("site/remove", {"name": "main"}, "YEASTAR_PBX_URL"),
                ("site/remove", {}, "'name'")):
            r = s.bus.request("yeastar-gateway", action, body)
            self.assertEqual(r["status"], "error", (action, body, r))
            self.assertIn(reason, r["error"])
        sites = s.bus.request("yeastar-gateway", "site/list", {})["data"]["sites"]
        self.assertEqual([x["name"] for x in sites], ["main"])
        time.sleep(0.5)
        self.assertEqual(self.updates(), [(2, "lunch")])
        self.assertEqual(self.presence()["2001"], "lunch")


if __name__ == "__main__":
    unittest.main(verbosity=2)

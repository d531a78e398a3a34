"""Each service on its own against a real mosquitto: availability and clean
stop, configuration errors, imports refused whole with every bad line, the
scheduler's overrides across kill -9 and across an expiry that passed while
it was down, malformed commands reported and ignored."""
import json
import os
import subprocess
import time
import unittest

from harness import SERVICES, Stack, rfc3339

GOOD = "extension,day,start_time,end_time,status\n2000,lundi,08:00,12:00,business_trip\n"
BAD = ("extension,day,start_time,end_time,status\n"
       "2000,lundy,08:00,12:00,available\n"
       "2000,mardi,09:00,08:00,away\n"
       "2001,mercredi,08:00,10:00,holiday\n")


class Services(unittest.TestCase):
    def setUp(self):
        self.stack = Stack(f"20_services_{self._testMethodName}", sim=False,
                           env={"ALLOW_UNLISTED_EXTENSIONS": "true"})  # no PBX

    def tearDown(self):
        codes = self.stack.stop()
        self.assertEqual(self.stack.sanitizer_reports(), [])
        for name, code in codes.items():
            self.assertEqual(code, 0, f"{name} exited with {code}")

    def test_availability_and_clean_stop(self):
        s = self.stack
        s.start()
        for name in SERVICES:
            self.assertEqual(s.bus.last(f"svc/{name}/availability"), "online")
        since = time.time()
        self.assertEqual(s.procs["scheduler"].stop(), 0)
        s.bus.wait("svc/scheduler/availability", lambda v: v == "offline", since=since)
        self.assertIn("scheduler stopping", s.procs["scheduler"].log())
        # kill -9: the broker sends the last will.
        since = time.time()
        s.procs["ical-ingest"].kill9()
        s.bus.wait("svc/ical-ingest/availability", lambda v: v == "offline",
                   since=since, timeout=60)
        s.start("ical-ingest", "scheduler")

    def test_configuration_errors_name_the_key(self):
        s = self.stack
        for service in SERVICES:
            r = subprocess.run([s.binary(service), "--check-config"],
                               env=dict(s.env, DEFAULT_STATUS="holiday"),
                               capture_output=True, text=True, timeout=10)
            self.assertEqual(r.returncode, 2, service)
            self.assertIn("DEFAULT_STATUS: unknown status 'holiday'", r.stderr)
        env_file = os.path.join(s.dir, "bad.env")
        with open(env_file, "w") as f:
            f.write("SITE=main\nMQTT_PORT=1883\n")
        r = s.run_cli("scheduler", "--config", env_file, "--check-config")
        self.assertEqual(r.returncode, 2)
        self.assertIn("bad.env:2: unknown configuration key 'MQTT_PORT'", r.stderr)
        r = s.run_cli("web-api", "--check-config")
        self.assertEqual(r.returncode, 0, r.stderr)
        r = s.run_cli("yeastar-gateway", "--help")
        self.assertEqual(r.returncode, 0)
        self.assertIn("YEASTAR_CLIENT_SECRET", r.stdout)

    def test_import_refused_whole_and_previous_planning_kept(self):
        s = self.stack
        s.start("ical-ingest", "scheduler")
        ok = s.bus.request("ical-ingest", "import",
                           {"format": "csv", "content": GOOD, "site": "main"})
        self.assertEqual(ok["status"], "ok", ok)
        self.assertEqual(ok["data"]["slots"], 1)
        before = s.bus.wait("ext/main/2000/schedule", lambda p: p["slots"])
        bad = s.bus.request("ical-ingest", "import", {"format": "csv", "content": BAD})
        self.assertEqual(bad["status"], "error")
        self.assertIn("nothing was changed", bad["error"])
        self.assertEqual([d["line"] for d in bad["details"]], [2, 3, 4])
        self.assertIn("lundy", bad["details"][0]["error"])
        self.assertIn("holiday", bad["details"][2]["error"])
        # JSON, and requests that are not even JSON.
        bad = s.bus.request("ical-ingest", "import",
                            {"format": "json", "content": '[{"extension":"2000"}]'})
        self.assertEqual(bad["details"][0]["where"], "[0]")
        bad = s.bus.request("ical-ingest", "import", {"format": "xml", "content": "<a/>"})
        self.assertIn("unknown format", bad["details"][0]["error"])
        bad = s.bus.request("ical-ingest", "import", {"content": GOOD})
        self.assertIn("'format' is required", bad["error"])
        since = time.time()
        s.bus.publish("svc/ical-ingest/request/import", "not json")
        resp = s.bus.wait("svc/ical-ingest/response/import", since=since)
        self.assertIn("invalid JSON", resp["error"])
        # The command line says the same, with file:line.
        path = os.path.join(s.dir, "bad.csv")
        with open(path, "w") as f:
            f.write(BAD)
        r = s.run_cli("ical-ingest", "--import", path)
        self.assertEqual(r.returncode, 1)
        self.assertIn("bad.csv:2: unknown day 'lundy'", r.stderr)
        r = s.run_cli("ical-ingest", "--import", path, "--dry-run")
        self.assertEqual(r.returncode, 1)
        # Nothing changed: after a restart the same schedule is published.
        s.procs["ical-ingest"].stop()
        since = time.time()
        s.start("ical-ingest")
        after = s.bus.wait("ext/main/2000/schedule", since=since)
        self.assertEqual(after["slots"], before["slots"])

    def test_override_survives_kill9(self):
        s = self.stack
        s.start("scheduler")
        s.bus.publish("ext/main/2010/override/set",
                      json.dumps({"status": "dnd", "minutes": 60, "reason": "exam",
                                  "by": "test"}))
        d = s.bus.wait("ext/main/2010/desired", lambda p: p["cause"] == "override")
        self.assertEqual(d["status"], "do_not_disturb")
        s.procs["scheduler"].kill9()
        # Wipe the retained override: the scheduler must restore it from its DB.
        s.bus.publish("ext/main/2010/override", "", retain=True)
        since = time.time()
        s.start("scheduler")
        ov = s.bus.wait("ext/main/2010/override", lambda p: isinstance(p, dict), since=since)
        self.assertEqual(ov["reason"], "exam")
        d = s.bus.wait("ext/main/2010/desired", since=since)
        self.assertEqual(d["cause"], "override")
        self.assertEqual(d["override"]["until"], ov["until"])

    def test_override_expired_while_down(self):
        s = self.stack
        s.start("scheduler")
        s.bus.publish("ext/main/2011/override/set",
                      json.dumps({"status": "away", "until": rfc3339(time.time() + 2)}))
        s.bus.wait("ext/main/2011/desired", lambda p: p["cause"] == "override")
        s.procs["scheduler"].kill9()
        time.sleep(2.5)
        since = time.time()
        s.start("scheduler")
        ev = s.bus.wait("events/override", lambda p: p["action"] == "expired", since=since)
        self.assertEqual(ev["ext"], "2011")
        d = s.bus.wait("ext/main/2011/desired", since=since)
        self.assertEqual(d["cause"], "default")

    def test_malformed_commands_change_nothing(self):
        s = self.stack
        s.start("scheduler")
        s.bus.publish("ext/main/2012/override/set", "lunch")
        s.bus.wait("ext/main/2012/desired", lambda p: p["status"] == "lunch")
        for payload, reason in (
                ("holiday", "unknown status 'holiday'"),
                ('{"status":"away"', "invalid JSON"),
                ('{"status":"away","until":"2020-01-01T00:00:00Z"}', "in the past"),
                ('{"status":"away","minutes":-5}', "'minutes' must be"),
                ("", "empty override")):
            since = time.time()
            s.bus.publish("ext/main/2012/override/set", payload)
            ev = s.bus.wait("events/error", since=since)
            self.assertIn(reason, ev["error"])
            self.assertEqual(ev["topic"], "ext/main/2012/override/set")
        since = time.time()
        s.bus.publish("ext/main/2012/planning/set", "maybe")
        ev = s.bus.wait("events/error", since=since)
        self.assertIn("'on' or 'off'", ev["error"])
        since = time.time()
        s.bus.publish("ext/main/bad.id/override/set", "away")
        ev = s.bus.wait("events/error", since=since)
        self.assertIn("[A-Za-z0-9_-]", ev["error"])
        since = time.time()
        s.bus.publish("ext/main/2012/schedule", '{"slots": 3}', retain=True)
        ev = s.bus.wait("events/error", since=since)
        self.assertIn("'slots' must be an array", ev["error"])
        # The override set first is still the one in force.
        s.bus.publish("ext/main/2012/planning/set", "off")
        d = s.bus.wait("ext/main/2012/planning", lambda p: p == "off")
        self.assertEqual(json.loads(s.bus.last("ext/main/2012/desired"))["status"], "lunch")
        s.bus.publish("ext/main/2012/override/clear", "")
        d = s.bus.wait("ext/main/2012/desired", lambda p: p["cause"] == "planning_off")
        self.assertIsNone(d["status"])
        s.bus.publish("ext/main/2012/schedule", "", retain=True)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""The scheduler alone against a real mosquitto: a slot starting a
few seconds ahead changes `desired` at its second, never before; an override
with `minutes` expires on its second; an override survives a restart and
still expires on time; one whose end passed while the scheduler was down is
expired at start, dated from its end; malformed commands are refused with an
error event and change nothing; per-extension settings; Home Assistant
discovery (payloads, a select command rendered from its template becomes an
override, the button clears it, re-publication on Home Assistant's birth
message, removal when an extension leaves the PBX directory); a slot right
after the Paris spring-forward change.

Lateness is printed, not asserted (timing is measured by
bench/scheduler_bench.py, see docs/benchmarks.md)."""
import datetime
import json
import sys
import threading
import time
import unittest

import paho.mqtt.client as mqtt

from harness import ROOT, Stack, login, parse_time, rfc3339

try:
    from jinja2.sandbox import ImmutableSandboxedEnvironment
except ImportError:  # python3-jinja2 is not installed: templates are checked by shape
    ImmutableSandboxedEnvironment = None

PARIS_WINTER = datetime.timezone(datetime.timedelta(hours=1))


def paris(t):
    """RFC 3339 in Paris winter time (the tests run in November)."""
    return datetime.datetime.fromtimestamp(t, PARIS_WINTER).isoformat()


def schedule(ext, slots, horizon_days=14):
    now = time.time()
    return json.dumps({
        "site": "main", "ext": ext, "generated_at": rfc3339(now),
        "horizon": {"start": rfc3339(now - 3600), "end": rfc3339(now + horizon_days * 86400)},
        "slots": [{"start": rfc3339(a), "end": rfc3339(b), "status": st, "priority": 0,
                   "source": "weekly", "uid": f"test:{ext}:{i}", "summary": ""}
                  for i, (a, b, st) in enumerate(slots)]})


class Outside:
    """Records messages outside the PresenceBus root (Home Assistant's)."""

    def __init__(self, port, pattern):
        self.messages = []
        self.cond = threading.Condition()
        self.client = login(mqtt.Client(client_id=f"ha-{time.time()}",
                                        protocol=mqtt.MQTTv311), port)
        self.client.on_message = self._on
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(pattern, qos=1)
        self.client.loop_start()
        time.sleep(0.2)

    def _on(self, client, userdata, msg):
        with self.cond:
            self.messages.append((time.time(), msg.topic, msg.payload.decode(), msg.retain))
            self.cond.notify_all()

    def wait(self, topic, pred=lambda p: True, since=0.0, timeout=15.0):
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for t, top, payload, _ in self.messages:
                    if t >= since and top == topic and pred(payload):
                        return payload
                left = deadline - time.time()
                if left <= 0:
                    raise AssertionError(f"nothing matching on {topic}")
                self.cond.wait(left)

    def count(self, topic, since):
        with self.cond:
            return sum(1 for t, top, _, _ in self.messages if top == topic and t >= since)

    def publish(self, topic, payload, retain=False):
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish()

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def next_second(delay):
    return float(int(time.time() + delay))


class Scheduler(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack("60_scheduler", sim=False,
                          env={"ALLOW_UNLISTED_EXTENSIONS": "true"}  # no PBX
                          ).start("scheduler")
        cls.ha = Outside(cls.stack.mqtt_port, "homeassistant/#")

    @classmethod
    def tearDownClass(cls):
        cls.ha.close()
        codes = cls.stack.stop()
        reports = cls.stack.sanitizer_reports()
        if reports:
            raise AssertionError(f"sanitizer reports: {reports}")
        if codes.get("scheduler") != 0:
            raise AssertionError(f"scheduler exited with {codes}")

    def test_1_override_with_minutes_is_set(self):
        s = self.stack
        since = time.time()
        s.bus.publish("ext/main/3001/override/set",
                      '{"status":"dnd","minutes":1,"reason":"call","by":"test"}')
        ov = s.bus.wait("ext/main/3001/override", lambda p: isinstance(p, dict), since=since)
        self.assertEqual(ov["status"], "do_not_disturb")
        self.assertEqual(parse_time(ov["until"]) - parse_time(ov["set_at"]), 60)
        ev = s.bus.wait("events/override", lambda p: p["action"] == "set" and p["ext"] == "3001",
                        since=since)
        self.assertEqual((ev["by"], ev["reason"]), ("test", "call"))
        type(self).minutes_override = ov

    def test_2_slot_boundary_changes_desired_at_its_second(self):
        s = self.stack
        start = next_second(3)
        s.bus.publish("ext/main/3000/schedule",
                      schedule("3000", [(start, start + 3600, "business_trip")]), retain=True)
        before = s.bus.wait("ext/main/3000/desired", lambda p: p["cause"] == "default")
        self.assertEqual(before["next_change"], {"at": paris(start), "status": "business_trip"})
        s.bus.wait("ext/main/3000/desired", lambda p: p["status"] == "business_trip")
        with s.bus.cond:
            received = [t for t, top, p, _ in s.bus.messages
                        if top == "ext/main/3000/desired" and "business_trip\",\"cause" in p][0]
        d = json.loads(s.bus.last("ext/main/3000/desired"))
        self.assertEqual(d["since"], paris(start))
        self.assertEqual(d["slot"]["uid"], "test:3000:0")
        self.assertEqual(d["next_change"], {"at": paris(start + 3600), "status": "available"})
        self.assertGreaterEqual(received, start, "desired changed before the slot began")
        print(f"\nslot boundary -> desired received: {received - start:+.3f}s", file=sys.stderr)

    def test_3_override_with_minutes_expires_on_its_second(self):
        s = self.stack
        ov = self.minutes_override
        until = parse_time(ov["until"])
        ev = s.bus.wait("events/override",
                        lambda p: p["action"] == "expired" and p["ext"] == "3001", timeout=90)
        self.assertEqual(ev["until"], ov["until"])
        self.assertGreaterEqual(parse_time(ev["at"]), until)
        d = s.bus.wait("ext/main/3001/desired", lambda p: p["cause"] == "default")
        self.assertEqual(d["since"], ov["until"])
        self.assertEqual(s.bus.last("ext/main/3001/override"), "")
        with s.bus.cond:
            received = [t for t, top, p, _ in s.bus.messages if top == "events/override"
                        and '"expired"' in p and '"3001"' in p][0]
        print(f"\noverride end -> expired event: {received - until:+.3f}s", file=sys.stderr)

    def test_4_restart_during_an_override(self):
        s = self.stack
        until = next_second(8)
        s.bus.publish("ext/main/3002/override/set",
                      json.dumps({"status": "away", "until": rfc3339(until), "by": "test"}))
        s.bus.wait("ext/main/3002/desired", lambda p: p["cause"] == "override")
        s.procs["scheduler"].kill9()
        s.bus.publish("ext/main/3002/override", "", retain=True)  # lost by the broker
        since = time.time()
        s.start("scheduler")
        ov = s.bus.wait("ext/main/3002/override", lambda p: isinstance(p, dict), since=since)
        self.assertEqual(ov["until"], paris(until))
        ev = s.bus.wait("events/override", lambda p: p["action"] == "expired" and
                        p["ext"] == "3002", since=since, timeout=30)
        self.assertGreaterEqual(parse_time(ev["at"]), until)
        d = s.bus.wait("ext/main/3002/desired", lambda p: p["cause"] == "default", since=since)
        self.assertEqual(d["since"], paris(until))

    def test_5_expiry_passed_while_down(self):
        s = self.stack
        until = next_second(2)
        s.bus.publish("ext/main/3003/override/set",
                      json.dumps({"status": "lunch", "until": rfc3339(until)}))
        s.bus.wait("ext/main/3003/desired", lambda p: p["cause"] == "override")
        s.procs["scheduler"].stop()
        while time.time() < until + 1.5:
            time.sleep(0.1)
        since = time.time()
        s.start("scheduler")
        ev = s.bus.wait("events/override", lambda p: p["action"] == "expired" and
                        p["ext"] == "3003", since=since)
        self.assertGreater(parse_time(ev["at"]), until)
        d = s.bus.wait("ext/main/3003/desired", lambda p: p["cause"] == "default", since=since)
        self.assertEqual(d["since"], paris(until), "since must be the override's end")

    def test_6_malformed_commands_change_nothing(self):
        s = self.stack
        since = time.time()
        s.bus.publish("ext/main/3004/override/set",
                      '{"status":"away","until":"%s","reason":"kept"}' % rfc3339(time.time() + 3600))
        s.bus.wait("ext/main/3004/desired", lambda p: p["cause"] == "override", since=since)
        override = s.bus.wait("ext/main/3004/override", lambda p: isinstance(p, dict), since=since)
        desired = s.bus.last("ext/main/3004/desired")
        bad = [("nap", "unknown status 'nap'"),
               ('{"status":"away",', "invalid JSON"),
               ('{"status":"away","until":"2001-01-01T00:00:00Z"}', "'until' is in the past"),
               ('{"status":"away","minutes":5,"until":"2030-01-01T00:00:00Z"}', "not both"),
               ('{"status":"away","minutes":0}', "'minutes' must be"),
               ('{"minutes":5}', "'status'"),
               ('{"status":"holiday","minutes":5}', "unknown status 'holiday'"),
               ("", "empty override")]
        for payload, reason in bad:
            t = time.time()
            s.bus.publish("ext/main/3004/override/set", payload)
            ev = s.bus.wait("events/error", lambda p: p["topic"] == "ext/main/3004/override/set",
                            since=t)
            self.assertIn(reason, ev["error"])
        t = time.time()
        s.bus.publish("ext/main/3004/override/clear", '{"by": ')
        ev = s.bus.wait("events/error", lambda p: p["topic"] == "ext/main/3004/override/clear",
                        since=t)
        self.assertIn("invalid JSON", ev["error"])
        t = time.time()
        s.bus.publish("ext/main/3004/settings/set", '{"default_status":"holiday"}')
        ev = s.bus.wait("events/error", lambda p: p["topic"] == "ext/main/3004/settings/set",
                        since=t)
        self.assertIn("unknown status 'holiday'", ev["error"])
        time.sleep(0.5)
        self.assertEqual(s.bus.last("ext/main/3004/desired"), desired)
        self.assertEqual(json.loads(s.bus.last("ext/main/3004/override")), override)
        with s.bus.cond:
            events = [p for t, top, p, _ in s.bus.messages if top == "events/override"
                      and t >= since and '"3004"' in p]
        self.assertEqual(len(events), 1, "only the first, valid override is an event")

    def test_7_settings(self):
        s = self.stack
        since = time.time()
        s.bus.publish("ext/main/3005/settings/set",
                      '{"default_status":"off_work","timezone":"America/New_York","by":"test"}')
        d = s.bus.wait("ext/main/3005/desired", lambda p: p["status"] == "off_work", since=since)
        self.assertEqual(d["cause"], "default")
        self.assertRegex(d["since"], r"-0[45]:00$")
        st = s.bus.wait("ext/main/3005/settings", lambda p: isinstance(p, dict), since=since)
        self.assertEqual(st["timezone"], "America/New_York")
        ev = s.bus.wait("events/settings", lambda p: p["ext"] == "3005", since=since)
        self.assertEqual(sorted(ev["changed"]), ["default_status", "timezone"])
        # The request form reads and changes, and refuses a bad zone whole.
        r = s.bus.request("scheduler", "settings", {"ext": "3005"})
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual(r["data"]["default_status"], "off_work")
        r = s.bus.request("scheduler", "settings",
                          {"ext": "3005", "default_status": "away", "timezone": "Nowhere/City"})
        self.assertEqual(r["status"], "error")
        self.assertIn("Nowhere/City", r["error"])
        r = s.bus.request("scheduler", "settings", {"ext": "3005", "default_status": None,
                                                    "planning": "off"})
        self.assertEqual(r["data"]["effective"]["default_status"], "available")
        self.assertEqual(r["data"]["planning"], "off")
        d = s.bus.wait("ext/main/3005/desired", lambda p: p["cause"] == "planning_off",
                       since=since)
        self.assertIsNone(d["status"])
        self.assertEqual(s.bus.wait("ext/main/3005/planning", since=since), "off")

    def test_8_home_assistant_discovery(self):
        s, ha = self.stack, self.ha
        since = time.time()
        directory = {"site": "main", "updated_at": rfc3339(time.time()), "extensions": [
            {"number": "3100", "id": 1, "name": "Alice Martin"},
            {"number": "3101", "id": 2, "name": "Bruno Durand"}]}
        s.bus.publish("site/main/directory", json.dumps(directory), retain=True)
        topic = "homeassistant/device/presencebus_presence_main_3100/config"
        cfg = json.loads(ha.wait(topic, lambda p: p != "", since=since))
        ha.wait("homeassistant/device/presencebus_presence_main_3101/config", since=since)
        self.assertEqual(cfg["device"]["name"], "Alice Martin (3100)")
        self.assertEqual(cfg["availability"][0]["topic"], f"{ROOT}/svc/scheduler/availability")
        select = cfg["components"]["presence"]
        self.assertEqual(select["platform"], "select")
        self.assertEqual(select["command_topic"], f"{ROOT}/ext/main/3100/override/set")
        self.assertIn("Lunch Break", select["options"])
        # What Home Assistant sends when "Lunch Break" is chosen.
        if ImmutableSandboxedEnvironment:
            env = ImmutableSandboxedEnvironment()
            command = env.from_string(select["command_template"]).render(value="Lunch Break")
            desired = s.bus.wait("ext/main/3100/desired", since=since)
            shown = env.from_string(select["value_template"]).render(value_json=desired)
            self.assertEqual(shown, "Available")
        else:
            print("\npython3-jinja2 missing: templates not rendered", file=sys.stderr)
            self.assertIn('"Lunch Break": "lunch"', select["command_template"])
            command = json.dumps({"status": "lunch", "by": "home-assistant"})
        self.assertEqual(json.loads(command), {"status": "lunch", "by": "home-assistant"})
        t = time.time()
        ha.publish(select["command_topic"], command)
        d = s.bus.wait("ext/main/3100/desired", lambda p: p["cause"] == "override", since=t)
        self.assertEqual(d["status"], "lunch")
        self.assertEqual(d["override"]["by"], "home-assistant")
        if ImmutableSandboxedEnvironment:
            self.assertEqual(env.from_string(select["value_template"]).render(value_json=d),
                             "Lunch Break")
        # The button clears it.
        button = cfg["components"]["clear_override"]
        t = time.time()
        ha.publish(button["command_topic"], button["payload_press"])
        ev = s.bus.wait("events/override", lambda p: p["action"] == "cleared" and
                        p["ext"] == "3100", since=t)
        self.assertEqual(ev["by"], "home-assistant")
        self.assertEqual(ev["override"]["status"], "lunch")
        # Home Assistant restarts: discovery again.
        t = time.time()
        ha.publish("homeassistant/status", "online")
        ha.wait(topic, lambda p: p != "", since=t)
        # 3101 leaves the PBX: its device is removed.
        t = time.time()
        directory["extensions"] = directory["extensions"][:1]
        s.bus.publish("site/main/directory", json.dumps(directory), retain=True)
        ha.wait("homeassistant/device/presencebus_presence_main_3101/config",
                lambda p: p == "", since=t)
        time.sleep(0.3)
        self.assertEqual(ha.count(topic, t), 0, "3100 is still listed: left alone")


class DaylightSaving(unittest.TestCase):
    """A slot starting at 03:00+02:00, the first second after Paris springs
    forward (2026-03-29, 02:00+01:00 becomes 03:00+02:00)."""

    def test_slot_right_after_spring_forward(self):
        boundary = datetime.datetime(2026, 3, 29, 1, 0, 0,
                                     tzinfo=datetime.timezone.utc).timestamp()
        stack = Stack("60_scheduler_dst", fake_time=boundary - 6, sim=False)
        try:
            stack.start("scheduler")
            slot = {"start": "2026-03-29T03:00:00+02:00", "end": "2026-03-29T05:00:00+02:00",
                    "status": "away", "priority": 0, "source": "weekly",
                    "uid": "dst:1", "summary": ""}
            stack.bus.publish("ext/main/3200/schedule", json.dumps({"slots": [slot]}),
                              retain=True)
            d = stack.bus.wait("ext/main/3200/desired", lambda p: p["cause"] == "default")
            self.assertEqual(d["next_change"]["at"], "2026-03-29T03:00:00+02:00")
            self.assertTrue(d["since"].endswith("+01:00"), d["since"])
            d = stack.bus.wait("ext/main/3200/desired", lambda p: p["status"] == "away")
            self.assertEqual(d["since"], "2026-03-29T03:00:00+02:00")
            self.assertEqual(d["next_change"]["at"], "2026-03-29T05:00:00+02:00")
            with stack.bus.cond:
                received = [t for t, top, p, _ in stack.bus.messages
                            if top == "ext/main/3200/desired"
                            and p.startswith('{"status":"away"')][0]
            self.assertGreaterEqual(received, stack.real_time_of(boundary))
        finally:
            codes = stack.stop()
        self.assertEqual(stack.sanitizer_reports(), [])
        self.assertEqual(codes["scheduler"], 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

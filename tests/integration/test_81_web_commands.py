"""Commands from HTTP to the owning service on the bus: override set/clear
and planning on/off (to the scheduler, MQTT 5 response topic), sources and
sites (request/response to ical-ingest and yeastar-gateway). The HTTP
answer is the service's answer; a refused command changes nothing; a
service that does not answer gives a 504 naming it; secrets never come
back."""
import json
import threading
import time
import unittest

import paho.mqtt.client as mqtt

from harness import ROOT, Stack, login
from sealed_box import KeyPair
from web_client import ADMIN_PASSWORD, Web, fake_gateway, wait_for


class FakeService:
    """Answers R/svc/<service>/request/# like the real service would, and
    records what it was asked (opened: like the real service, it publishes
    a key and web-api seals every request to it)."""

    def __init__(self, port, service, answer):
        self.service = service
        self.answer = answer
        self.requests = []
        self.client = login(mqtt.Client(client_id=f"fake-{service}-{time.time()}",
                                        protocol=mqtt.MQTTv311), port)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe(f"{ROOT}/svc/{service}/request/#", qos=1)
        self.client.loop_start()
        self.key = KeyPair()
        self.client.publish(f"{ROOT}/svc/{service}/pubkey", self.key.pubkey_payload(),
                            qos=1, retain=True).wait_for_publish()
        self.client.publish(f"{ROOT}/svc/{service}/availability", "online", qos=1,
                            retain=True).wait_for_publish()
        time.sleep(0.2)

    def _on_message(self, client, userdata, msg):
        action = msg.topic.split("/request/", 1)[1]
        req = json.loads(msg.payload)
        assert set(req) == {"sealed", "transaction"}, f"not sealed: {req}"
        req = self.key.open_request(req)
        self.requests.append((action, req))
        resp = self.answer(action, req)
        if resp is None:
            return  # no answer: web-api must time out
        resp["transaction"] = req.get("transaction")
        client.publish(f"{ROOT}/svc/{self.service}/response/{action}", json.dumps(resp), qos=1)

    def close(self):
        self.client.publish(f"{ROOT}/svc/{self.service}/availability", "offline", qos=1,
                            retain=True).wait_for_publish()
        self.client.loop_stop()
        self.client.disconnect()


def ingest_answer(action, req):
    if action == "source/list":
        return {"status": "ok", "data": {"sources": [
            {"id": "teachers", "kind": "url", "url": "https://cal.example.org/***",
             "password": "leaked!", "extensions": ["2000"]}]}}
    if action == "source/add" and req.get("id") == "bad":
        return {"status": "error", "error": "field 'url': must start with https://"}
    if action == "source/remove" and req.get("id") == "missing":
        return {"status": "error", "error": "unknown source 'missing'", "code": "not_found"}
    if action == "import" and "lundy" in req.get("content", ""):
        return {"status": "error", "error": "planning refused: 1 error, nothing was changed",
                "details": [{"line": 2, "error": "unknown day 'lundy'"}]}
    if action == "source/refresh" and req.get("id") == "slow":
        return None
    return {"status": "ok", "data": {"echo": req}}


def gateway_answer(action, req):
    if action == "site/list":
        return {"status": "ok", "data": {"sites": [
            {"name": "main", "url": "https://pbx.example.org", "client_id": "id",
             "client_secret": "s3cr3t-value", "state": "connected"}]}}
    if action == "site/test":
        return {"status": "ok", "data": {"name": req["name"], "ok": True, "latency_ms": 12}}
    return {"status": "ok", "data": {"name": req.get("name")}}


class WebCommands(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack("81_web_commands", sim=False,
                          env={"WEB_ADMIN_PASSWORD": ADMIN_PASSWORD,
                               "WEB_COMMAND_TIMEOUT_MS": "1500"}).start("scheduler", "web-api")
        fake_gateway(cls.stack.bus)
        cls.web = Web(cls.stack.web_port)
        assert cls.web.login()[0] == 200
        wait_for(lambda: cls.web.get("/api/extensions")[1]["count"] == 3)
        cls.ingest = FakeService(cls.stack.mqtt_port, "ical-ingest", ingest_answer)
        cls.gateway = FakeService(cls.stack.mqtt_port, "yeastar-gateway", gateway_answer)
        wait_for(lambda: cls.web.get("/healthz")[1]["services"]["ical-ingest"] == "online")

    @classmethod
    def tearDownClass(cls):
        cls.ingest.close()
        cls.gateway.close()
        codes = cls.stack.stop()
        assert cls.stack.sanitizer_reports() == [], cls.stack.sanitizer_reports()
        assert all(c == 0 for c in codes.values()), codes

    def ext(self, number):
        return self.web.get(f"/api/extensions/{number}")[1]

    def test_override_set_and_clear(self):
        status, body, _ = self.web.put("/api/extensions/2001/override",
                                       {"status": "dnd", "minutes": 90, "reason": "exams"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["status"], "ok")
        self.assertEqual(body["override"]["status"], "do_not_disturb")
        self.assertEqual(body["override"]["by"], "admin")
        ov = self.stack.bus.wait("ext/main/2001/override", lambda p: isinstance(p, dict))
        self.assertEqual((ov["status"], ov["reason"], ov["by"]), ("do_not_disturb", "exams", "admin"))
        wait_for(lambda: self.ext("2001")["desired"]["cause"] == "override")
        status, body, _ = self.web.put("/api/extensions/2001/override",
                                       {"status": "away", "until": "2099-01-01T00:00:00Z"})
        self.assertEqual(status, 200, body)
        wait_for(lambda: (self.ext("2001")["override"] or {}).get("status") == "away")
        status, body, _ = self.web.delete("/api/extensions/2001/override")
        self.assertEqual(status, 200, body)
        wait_for(lambda: self.ext("2001")["override"] is None)
        ev = self.stack.bus.wait("events/override", lambda p: p.get("action") == "cleared")
        self.assertEqual(ev["by"], "admin")

    def test_bad_overrides_change_nothing(self):
        self.web.put("/api/extensions/2002/override", {"status": "lunch", "reason": "keep"})
        wait_for(lambda: (self.ext("2002")["override"] or {}).get("reason") == "keep")
        cases = [
            (b'{"status": "away"', "application/json", 400, "invalid JSON"),
            (b'["away"]', "application/json", 400, "must be a JSON object"),
            (b'{"status": "away", "reason": "\xff\xfe"}', "application/json", 400, "UTF-8"),
            ({"status": "holiday"}, None, 400, "unknown status 'holiday'"),
            ({"status": 3}, None, 400, "'status'"),
            ({"status": "away", "minutes": "ten"}, None, 400, "'minutes'"),
            ({"status": "away", "minutes": 0}, None, 400, "minutes"),
            ({"status": "away", "minutes": 5, "until": "2099-01-01T00:00:00Z"}, None, 400, "not both"),
            ({"status": "away", "until": "2001-01-01T00:00:00Z"}, None, 400, "in the past"),
            ({"status": "away", "reason": "x" * 300}, None, 400, "longer than 255"),
            ({"status": "away", "colour": "red"}, None, 400, "unknown field 'colour'"),
            ({}, None, 400, "'status'"),
            (b"status=away", "text/plain", 415, "must be JSON"),
        ]
        for body, ctype, code, text in cases:
            with self.subTest(body=body):
                status, answer, _ = self.web.put("/api/extensions/2002/override", body,
                                                 content_type=ctype)
                self.assertEqual(status, code, answer)
                self.assertIn(text, answer["error"])
        status, answer, _ = self.web.put("/api/extensions/9999/override", {"status": "away"})
        self.assertEqual(status, 404)
        self.assertIn("unknown extension '9999'", answer["error"])
        status, answer, _ = self.web.put("/api/extensions/2002/override?site=bad.site",
                                         {"status": "away"})
        self.assertEqual(status, 400)
        time.sleep(0.3)
        self.assertEqual(self.ext("2002")["override"]["reason"], "keep")
        self.assertEqual(self.ext("2002")["override"]["status"], "lunch")

    def test_planning_switch(self):
        status, body, _ = self.web.put("/api/extensions/2000/planning", {"enabled": False})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["planning"], "off")
        wait_for(lambda: self.ext("2000")["desired"]["cause"] == "planning_off")
        self.assertEqual(self.ext("2000")["planning"], "off")
        status, body, _ = self.web.put("/api/extensions/2000/planning", {"enabled": "no"})
        self.assertEqual(status, 400)
        self.assertIn("'enabled' must be true or false", body["error"])
        status, body, _ = self.web.put("/api/extensions/2000/planning", {"enabled": True})
        self.assertEqual(status, 200)
        wait_for(lambda: self.ext("2000")["desired"]["cause"] == "default")

    def test_settings_are_relayed_to_the_scheduler(self):
        status, body, _ = self.web.put("/api/extensions/2002/settings",
                                       {"default_status": "away", "timezone": "Europe/Paris"})
        self.assertEqual(status, 200, body)
        self.assertEqual((body["ext"], body["default_status"]), ("2002", "away"))
        status, body, _ = self.web.get("/api/extensions/2002/settings")
        self.assertEqual((status, body["default_status"]), (200, "away"))
        status, body, _ = self.web.put("/api/extensions/2002/settings",
                                       {"default_status": "holiday"})
        self.assertEqual(status, 400)
        self.assertEqual(body["service"], "scheduler")
        self.assertIn("holiday", body["error"])
        status, body, _ = self.web.put("/api/extensions/2002/settings", {"colour": "red"})
        self.assertEqual(status, 400)
        self.assertIn("unknown field 'colour'", body["error"])
        status, body, _ = self.web.put("/api/extensions/2002/settings", {})
        self.assertEqual(status, 400)
        status, body, _ = self.web.get("/api/extensions/9999/settings")
        self.assertEqual(status, 404)
        self.web.put("/api/extensions/2002/settings", {"default_status": None})

    def test_sources_are_relayed_to_ical_ingest(self):
        audited = self.web.get("/api/logs?kind=command")[1]["total"]
        status, body, _ = self.web.get("/api/sources")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["sources"][0]["id"], "teachers")
        self.assertNotIn("password", body["sources"][0])  # write-only, whatever happens
        status, body, _ = self.web.get("/api/sources?id=teachers")
        self.assertEqual(status, 200, body)
        action, req = self.ingest.requests[-1]
        self.assertEqual((action, req["id"]), ("source/list", "teachers"))
        status, body, _ = self.web.get("/api/sources?id=a.b")
        self.assertEqual(status, 400)
        self.assertIn("'id'", body["error"])
        # Reads are not changes: the audit log does not grow.
        self.assertEqual(self.web.get("/api/logs?kind=command")[1]["total"], audited)
        status, body, _ = self.web.post("/api/sources", {"id": "new", "kind": "url",
                                                         "url": "https://x.example/cal.ics",
                                                         "extensions": ["2000"]})
        self.assertEqual(status, 200, body)
        action, req = self.ingest.requests[-1]
        self.assertEqual(action, "source/add")
        self.assertEqual(req["url"], "https://x.example/cal.ics")
        status, body, _ = self.web.post("/api/sources", {"id": "bad", "url": "ftp://x"})
        self.assertEqual(status, 400)
        self.assertEqual(body["service"], "ical-ingest")
        self.assertIn("'url'", body["error"])
        status, body, _ = self.web.request("PATCH", "/api/sources/new", {"name": "Teachers"})
        self.assertEqual(status, 200)
        self.assertEqual(self.ingest.requests[-1], ("source/update",
                         dict(self.ingest.requests[-1][1], id="new", name="Teachers")))
        status, body, _ = self.web.delete("/api/sources/missing")
        self.assertEqual(status, 404)
        status, body, _ = self.web.post("/api/sources/new/refresh", {})
        self.assertEqual((status, self.ingest.requests[-1][0]), (200, "source/refresh"))
        status, body, _ = self.web.delete("/api/sources/a.b")
        self.assertEqual(status, 400)

    def test_import_upload(self):
        csv = "extension,day,start_time,end_time,status\n2000,lundi,08:00,12:00,away\n"
        status, body, _ = self.web.post("/api/sources/import?source=weekly&priority=2", csv,
                                        content_type="text/csv")
        self.assertEqual(status, 200, body)
        action, req = self.ingest.requests[-1]
        self.assertEqual((action, req["format"], req["content"], req["source"], req["priority"]),
                         ("import", "csv", csv, "weekly", 2))
        status, body, _ = self.web.post("/api/sources/import", {"format": "csv", "content":
                                        csv.replace("lundi", "lundy")})
        self.assertEqual(status, 400)
        self.assertEqual(body["details"], [{"line": 2, "error": "unknown day 'lundy'"}])
        status, body, _ = self.web.post("/api/sources/import?priority=high", csv,
                                        content_type="text/csv")
        self.assertEqual(status, 400)
        status, body, _ = self.web.post("/api/sources/import", b"\xff\xfe", content_type="text/csv")
        self.assertEqual(status, 400)
        self.assertIn("UTF-8", body["error"])

    def test_sites_are_relayed_and_secrets_stay_hidden(self):
        status, body, _ = self.web.get("/api/sites")
        self.assertEqual(status, 200)
        self.assertEqual(body["sites"][0]["name"], "main")
        self.assertNotIn("client_secret", body["sites"][0])
        self.assertNotIn("s3cr3t-value", json.dumps(body))
        status, body, _ = self.web.post("/api/sites/main/test", {})
        self.assertEqual((status, body["ok"]), (200, True))
        self.assertEqual(self.gateway.requests[-1][0], "site/test")
        status, body, _ = self.web.request("PATCH", "/api/sites/main",
                                           {"url": "https://pbx2.example.org"})
        self.assertEqual(status, 200)
        self.assertEqual(self.gateway.requests[-1][1]["name"], "main")

    def test_a_silent_service_gives_504(self):
        status, body, _ = self.web.post("/api/sources/slow/refresh", {})
        self.assertEqual(status, 504)
        self.assertEqual(body["service"], "ical-ingest")
        self.assertIn("did not answer within 1500 ms", body["error"])

    def test_zz_scheduler_down_gives_504_and_nothing_changes(self):
        self.stack.procs["scheduler"].stop()
        self.stack.bus.wait("svc/scheduler/availability", lambda v: v == "offline")
        wait_for(lambda: self.web.get("/healthz")[1]["services"]["scheduler"] == "offline")
        status, body, _ = self.web.put("/api/extensions/2000/override", {"status": "away"})
        self.assertEqual(status, 504)
        self.assertEqual(body["service"], "scheduler")
        self.assertIn("scheduler is offline", body["error"])
        status, logs, _ = self.web.get("/api/logs?kind=command&extension=2001")
        self.assertGreaterEqual(logs["total"], 1)
        self.stack.start("scheduler")
        wait_for(lambda: self.web.get("/healthz")[1]["services"]["scheduler"] == "online")
        self.assertIsNone(self.ext("2000")["override"])


if __name__ == "__main__":
    unittest.main(verbosity=2)

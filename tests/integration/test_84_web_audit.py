"""The audit log kept by web-api from the bus events: statuses applied
(old -> new, cause), overrides set/cleared/expired (who, reason), apply
and source failures; GET /api/logs with pagination and filters; it
survives a restart, and entries older than WEB_AUDIT_RETENTION_DAYS go."""
import json
import time
import unittest

from harness import Stack
from web_client import ADMIN_PASSWORD, Web, admin_token, fake_gateway, publish_state, wait_for


def event(kind, **fields):
    return json.dumps(dict(fields, kind=kind, at="2026-11-21T10:30:01Z", service="test"))


class WebAudit(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack("84_web_audit", sim=False,
                          env={"WEB_ADMIN_PASSWORD": ADMIN_PASSWORD,
                               "WEB_AUDIT_RETENTION_DAYS": "30"}).start("scheduler", "web-api")
        fake_gateway(cls.stack.bus)
        cls.web = Web(cls.stack.web_port, token=admin_token(cls.stack.web_port))
        wait_for(lambda: cls.web.get("/api/extensions")[1]["count"] == 3)
        bus = cls.stack.bus
        # What the gateway does when it applies an override: state, then event.
        cls.admin = Web(cls.stack.web_port)
        cls.admin.login()
        status, body, _ = cls.admin.put("/api/extensions/2000/override",
                                        {"status": "away", "minutes": 60, "reason": "dentist"})
        assert status == 200, body
        wait_for(lambda: cls.web.get("/api/extensions/2000")[1]["desired"]["cause"] == "override")
        publish_state(bus, "main", "2000", "away", 1, "Alice Martin")
        bus.publish("events/apply", event("apply", site="main", ext="2000", status="away",
                                          result="ok", latency_ms=42))
        bus.publish("events/apply_failed", event("apply_failed", site="main", ext="2001",
                                                 status="lunch", result="failed",
                                                 error="extension/update: HTTP 503", attempts=2))
        bus.publish("events/source", event("source", id="teachers", action="failed",
                                           source_kind="url", site="main", failures=1,
                                           error="HTTP 404 from the calendar server"))
        cls.admin.delete("/api/extensions/2000/override")
        wait_for(lambda: cls.web.get("/api/logs?kind=override")[1]["total"] >= 2)

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.stop()
        assert cls.stack.sanitizer_reports() == [], cls.stack.sanitizer_reports()
        assert all(c == 0 for c in codes.values()), codes

    def logs(self, query=""):
        status, body, _ = self.web.get("/api/logs" + query)
        self.assertEqual(status, 200, body)
        return body

    def messages(self, query=""):
        return [e["message"] for e in self.logs(query)["entries"]]

    def test_what_is_recorded(self):
        body = self.logs("?extension=2000&kind=apply")
        self.assertEqual(body["entries"][0]["message"],
                         "PBX status applied: available -> away (cause: override)")
        self.assertEqual(body["entries"][0]["data"]["latency_ms"], 42)
        overrides = self.logs("?kind=override")["entries"]
        self.assertEqual(overrides[0]["message"], "override cleared")
        self.assertEqual(overrides[0]["actor"], "admin")
        self.assertRegex(overrides[1]["message"], r"^override set: away until .*reason: dentist$")
        self.assertEqual(overrides[1]["actor"], "admin")
        self.assertEqual(self.messages("?kind=apply_failed"),
                         ["applying lunch failed: extension/update: HTTP 503"])
        self.assertEqual(self.messages("?kind=source"),
                         ["source teachers failed: HTTP 404 from the calendar server"])
        cmds = self.logs("?kind=command&extension=2000")["entries"]
        self.assertTrue(any(e["message"] == "override/set sent to scheduler: ok" for e in cmds))

    def test_pagination_and_filters(self):
        total = self.logs()["total"]
        self.assertGreaterEqual(total, 7)
        page1 = self.logs("?per_page=2&page=1")
        page2 = self.logs("?per_page=2&page=2")
        self.assertEqual((page1["per_page"], page1["pages"]), (2, (total + 1) // 2))
        self.assertEqual(len(page1["entries"]), 2)
        ids = [e["id"] for e in page1["entries"] + page2["entries"]]
        self.assertEqual(ids, sorted(ids, reverse=True))
        self.assertEqual(len(set(ids)), 4)
        self.assertEqual(self.logs(f"?page={total + 5}")["entries"], [])
        future = self.logs("?from=2099-01-01T00:00:00Z")
        self.assertEqual(future["total"], 0)
        past = self.logs("?to=2000-01-01T00:00:00Z")
        self.assertEqual(past["total"], 0)
        self.assertEqual(self.logs("?from=2000-01-01T00:00:00%2B01:00")["total"], total)
        for query, text in (("?page=0", "'page'"), ("?per_page=501", "'per_page'"),
                            ("?per_page=abc", "'per_page'"), ("?from=yesterday", "'from'"),
                            ("?extension=a.b", "'extension'")):
            status, body, _ = self.web.get("/api/logs" + query)
            self.assertEqual(status, 400, query)
            self.assertIn(text, body["error"])

    def test_stats_and_metrics(self):
        self.stack.bus.publish("site/lab/status", json.dumps({"state": "connected"}), retain=True)
        wait_for(lambda: "lab" in self.web.get("/api/stats")[1]["sites"])
        stats = self.web.get("/api/stats")[1]
        self.assertEqual(stats["sites"]["lab"], {"state": "connected"})
        self.assertEqual(stats["extensions"], 3)
        self.assertGreaterEqual(stats["since_start"]["applies"], 1)
        self.assertGreaterEqual(stats["since_start"]["apply_failures"], 1)
        text = self.web.get("/metrics")[1]
        for line in ("presencebus_applies_total 1", "presencebus_apply_failures_total 1",
                     'presencebus_overrides_total{action="set"} 1',
                     'presencebus_source_fetches_total{result="failed"} 1',
                     'presencebus_pbx_latency_seconds_bucket{le="0.05"} 1',
                     "presencebus_pbx_latency_seconds_count 1",
                     'presencebus_service_up{service="scheduler"} 1'):
            self.assertIn(line, text)
        self.assertRegex(text, r"presencebus_status_changes_total [1-9]")

    def test_zz_survives_restart_and_retention(self):
        total = self.logs()["total"]
        self.stack.procs["web-api"].stop()
        self.stack.start("web-api")
        wait_for(lambda: self.web.get("/api/logs")[0] == 200)
        self.assertEqual(self.logs()["total"], total)
        # 31 days later, everything recorded so far is past the retention.
        self.stack.procs["web-api"].stop()
        self.stack.env["CLOCK_OFFSET_MS"] = str(31 * 86400 * 1000)
        self.stack.start("web-api")
        wait_for(lambda: self.web.get("/api/logs")[0] == 200)
        self.assertEqual(self.logs("?to=2099-01-01T00:00:00Z")["total"], 0)
        self.assertIn("audit: removed", self.stack.procs["web-api"].log())


if __name__ == "__main__":
    unittest.main(verbosity=2)

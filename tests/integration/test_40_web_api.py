"""web-api's REST routes against the running stack (PBX simulator and the
four services), with the client mistakes answered by the right 4xx and a
JSON error naming the problem; the dashboard's static files. Commands,
authentication, the event stream, webhooks and the audit log have their
own test_8x_web_*.py."""
import re
import socket
import time
import unittest

from harness import Stack
from web_client import ADMIN_PASSWORD, Web, admin_token


class WebApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack("40_web_api", sim_args=["--extensions", "3"],
                          env={"WEB_ADMIN_PASSWORD": ADMIN_PASSWORD}).start()
        cls.stack.bus.wait("site/main/directory", lambda p: len(p["extensions"]) == 3)
        cls.web = Web(cls.stack.web_port, token=admin_token(cls.stack.web_port))
        # Every test goes through the authenticated client.
        cls.stack.http = lambda method, path, body=None, headers=None: cls.web.request(
            method, path, body, headers=headers)
        deadline = time.time() + 10
        while time.time() < deadline:
            status, body, _ = cls.stack.http("GET", "/api/extensions")
            if body["count"] == 3 and all(e["pbx"]["status"] for e in body["extensions"]):
                break
            time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.stop()
        assert cls.stack.sanitizer_reports() == [], cls.stack.sanitizer_reports()
        assert all(c == 0 for c in codes.values()), codes

    def test_healthz(self):
        status, body, headers = self.stack.http("GET", "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(body["status"], "ok")
        self.assertTrue(body["bus_connected"])
        self.assertEqual(body["services"]["scheduler"], "online")
        self.assertEqual(body["services"]["call-log"], "online")
        self.assertIn("application/json", headers["Content-Type"])

    def test_list_and_one(self):
        status, body, _ = self.stack.http("GET", "/api/extensions")
        self.assertEqual(status, 200)
        self.assertEqual(body["count"], 3)
        first = body["extensions"][0]
        self.assertEqual(first["number"], "2000")
        self.assertEqual(first["site"], "main")
        self.assertEqual(first["pbx_id"], 1)
        self.assertTrue(first["in_directory"])
        self.assertEqual(first["desired"]["status"], "available")
        self.assertEqual(first["desired"]["cause"], "default")
        self.assertEqual(first["pbx"]["status"], "available")
        self.assertIsNone(first["override"])
        status, body, _ = self.stack.http("GET", "/api/extensions?site=main")
        self.assertEqual(body["count"], 3)
        status, body, _ = self.stack.http("GET", "/api/extensions?site=other")
        self.assertEqual(body["count"], 0)
        status, one, _ = self.stack.http("GET", "/api/extensions/2001")
        self.assertEqual(status, 200)
        self.assertEqual(one["number"], "2001")
        self.assertEqual(one["name"], first["name"] and one["name"])

    def test_client_mistakes(self):
        http = self.stack.http
        status, body, _ = http("GET", "/api/extensions/9999")
        self.assertEqual(status, 404)
        self.assertEqual(body["status"], 404)
        self.assertIn("unknown extension '9999'", body["error"])
        status, body, _ = http("GET", "/api/extensions/a.b")
        self.assertEqual(status, 400)
        status, body, _ = http("GET", "/api/extensions?site=bad.site")
        self.assertEqual(status, 400)
        self.assertIn("'site'", body["error"])
        status, body, _ = http("GET", "/api/nothing")
        self.assertEqual(status, 404)
        status, body, headers = http("DELETE", "/api/extensions")
        self.assertEqual(status, 405)
        self.assertEqual(headers["Allow"], "GET, HEAD")
        # HEAD: the GET answer's headers, no body.
        status, full, got = http("GET", "/api/extensions")
        status, body, headers = http("HEAD", "/api/extensions")
        self.assertEqual(status, 200)
        self.assertEqual(body, None)
        self.assertEqual(headers["Content-Length"], got["Content-Length"])
        self.assertEqual(headers["ETag"], got["ETag"])
        status, body, headers = http("HEAD", "/api/extensions/9999")
        self.assertEqual((status, body), (404, None))
        status, body, headers = http("HEAD", "/api/events/stream")
        self.assertEqual((status, body), (200, ""))
        self.assertEqual(headers["Content-Type"], "text/event-stream")
        status, body, headers = http("HEAD", "/api/login")
        self.assertEqual(status, 405)
        self.assertEqual(headers["Allow"], "POST")
        status, body, _ = http("POST", "/api/extensions", b"x" * (2 * 1024 * 1024))
        self.assertEqual(status, 413)
        self.assertIn("larger than", body["error"])
        status, body, _ = http("GET", "/" + "a/" * 20)
        self.assertEqual(status, 404)
        status, body, headers = http("PATCH", "/api/extensions/2000/override")
        self.assertEqual(status, 405)
        self.assertEqual(headers["Allow"], "PUT, DELETE")
        status, body, _ = http("GET", "/api/extensions/%C3%28")
        self.assertEqual(status, 400)
        self.assertIn("UTF-8", body["error"])
        status, body, _ = http("GET", "/api/extensions/2000/week?date=2026-02-30")
        self.assertEqual(status, 400)
        self.assertIn("'date'", body["error"])

    def test_static_files_and_path_traversal(self):
        anon = Web(self.stack.web_port)
        status, page, headers = anon.get("/")
        self.assertEqual(status, 200)
        self.assertIn("text/html", headers["Content-Type"])
        self.assertIn("default-src 'none'", headers["Content-Security-Policy"])
        self.assertIn('<script src="/assets/app.js"', page)
        # Everything the page loads comes from web-api itself.
        self.assertEqual(re.findall(r'(?:src|href)="(?!/assets/)[^"]*"', page), [])
        for name, ctype in (("app.js", "text/javascript"), ("style.css", "text/css"),
                            ("favicon.svg", "image/svg+xml")):
            status, text, headers = anon.get("/assets/" + name)
            self.assertEqual(status, 200)
            self.assertIn(ctype, headers["Content-Type"])
            etag = headers["ETag"]
            status, _, _ = anon.get("/assets/" + name, headers={"If-None-Match": etag})
            self.assertEqual(status, 304)
        for path in ("/assets/../../../etc/passwd", "/assets/%2e%2e/%2e%2e/etc/passwd",
                     "/assets/./app.js", "/../etc/passwd"):
            status, body, _ = anon.get(path)
            self.assertEqual(status, 400, path)
            self.assertIn("path traversal", body["error"])
        status, body, _ = anon.get("/assets/.hidden")
        self.assertEqual(status, 400)
        status, body, _ = anon.get("/assets/nothing.js")
        self.assertEqual(status, 404)
        status, body, _ = anon.get("/assets/app.js/x")
        self.assertEqual(status, 404)

    def test_week_view(self):
        status, week, _ = self.stack.http("GET", "/api/extensions/2000/week?date=2026-11-25")
        self.assertEqual(status, 200, week)
        self.assertEqual(week["week_start"][:10], "2026-11-23")
        self.assertEqual(week["week_end"][:10], "2026-11-30")
        self.assertIsInstance(week["slots"], list)
        self.assertEqual(week["desired"]["status"], "available")

    def test_healthz_is_public_and_metrics_are_prometheus(self):
        anon = Web(self.stack.web_port)
        self.assertEqual(anon.get("/healthz")[0], 200)
        status, text, headers = self.stack.http("GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertIn("text/plain; version=0.0.4", headers["Content-Type"])
        self.assertIn("# TYPE presencebus_applies_total counter", text)
        self.assertIn('presencebus_service_up{service="yeastar-gateway"} 1', text)

    def test_garbage_request_does_not_hurt(self):
        with socket.create_connection(("127.0.0.1", self.stack.web_port)) as s:
            s.sendall(b"\x00\xffNOT HTTP\r\n\r\n")
            s.settimeout(5)
            try:
                s.recv(1024)
            except OSError:
                pass
        status, _, _ = self.stack.http("GET", "/healthz")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)

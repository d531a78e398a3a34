"""Secrets that stay put (docs/security.md), against a real mosquitto, the real
services and PBX simulators:
- a calendar's password and URL token and a PBX client secret, given
  through the REST API, cross the bus sealed to the service's public key:
  a client that records everything under the root never sees them, and the
  source and the site still work; without the service's key web-api sends
  no secret at all (503); a request in clear still works but is warned of;
- a stored password or client secret is never sent to a new server: an
  update that moves the URL to another scheme, host or port must give the
  secret again (over the bus and through REST, site/test included);
- a calendar URL cannot reach internal addresses: loopback by default,
  cloud metadata always, after a redirect too, and an error never quotes
  what the server answered."""
import base64
import http.server
import json
import os
import threading
import time
import unittest
import urllib.parse

from harness import SIM_BIN, Process, Stack, read_file
from sealed_box import seal

TOKEN = "Zq8TokenInTheUrl5vB7"
PASSWORD = "cal-pa55word-Xy7Qw9"
NEW_PASSWORD = "new-cal-pa55-Rt4Lk2"
USER = "bob"
B_SECRET = "site-b-secret-9f8e7d6c5b4a39281706"
SECRETS = (TOKEN, PASSWORD, NEW_PASSWORD, B_SECRET)
CALENDAR = ("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//test//87//EN\r\n"
            "BEGIN:VEVENT\r\nUID:e1\r\nDTSTAMP:20260330T050000Z\r\n"
            "DTSTART:20260330T060000Z\r\nDTEND:20260330T070000Z\r\nSUMMARY:Cours\r\n"
            "END:VEVENT\r\nEND:VCALENDAR\r\n").encode()


class Server:
    """An HTTP server that records every request (headers and body) and
    serves a calendar behind basic auth and a URL token, an HTML page, and
    redirects to wherever a test says."""

    def __init__(self):
        self.requests = []
        self.lock = threading.Lock()
        self.redirect_to = None
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.handle(self, b"")

            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                outer.handle(self, self.rfile.read(n))

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def seen(self):
        with self.lock:
            return list(self.requests)

    def send(self, h, code, body=b"", headers=()):
        h.send_response(code)
        for k, v in headers:
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def handle(self, h, body):
        u = urllib.parse.urlsplit(h.path)
        with self.lock:
            self.requests.append({"path": u.path, "query": u.query,
                                  "headers": dict(h.headers), "body": body})
        if u.path == "/cal.ics":
            auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if urllib.parse.parse_qs(u.query).get("u") != [TOKEN]:
                return self.send(h, 403, b"bad token")
            if h.headers.get("Authorization") != auth:
                return self.send(h, 401, b"who are you",
                                 [("WWW-Authenticate", 'Basic realm="cal"')])
            return self.send(h, 200, CALENDAR, [("Content-Type", "text/calendar")])
        if u.path == "/open.ics":
            return self.send(h, 200, CALENDAR, [("Content-Type", "text/calendar")])
        if u.path == "/page":
            return self.send(h, 200, b"<html><body>internal admin console token=abc</body></html>",
                             [("Content-Type", "text/html; charset=utf-8")])
        if u.path == "/redirect":
            return self.send(h, 302, headers=[("Location", self.redirect_to)])
        self.send(h, 404, b"not here")

    def close(self):
        self.httpd.shutdown()


def start_sim(stack, name, *args):
    port_file = os.path.join(stack.dir, f"{name}.port")
    proc = Process(name, [SIM_BIN, "--listen", "127.0.0.1:0", "--port-file", port_file,
                          *args], dict(os.environ), stack.logdir).start()
    deadline = time.time() + 10
    while not read_file(port_file).strip():
        if time.time() > deadline:
            raise TimeoutError(f"{name} did not start")
        time.sleep(0.05)
    return proc, int(read_file(port_file).strip())


class Secrets(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.feeds = Server()
        cls.evil = Server()  # where a stolen secret would end up
        cls.stack = s = Stack("87_secrets", sim=True)
        cls.sim_b, cls.b_port = start_sim(s, "sim-b", "--extensions", "2", "--client-id",
                                          "site-b", "--client-secret", B_SECRET, "--quiet")
        s.start("ical-ingest", "yeastar-gateway")
        cls.keys = {svc: s.bus.wait(f"svc/{svc}/pubkey", lambda p: isinstance(p, dict))
                    for svc in ("ical-ingest", "yeastar-gateway")}
        s.start("web-api")
        # web-api learns the keys from the retained topics just after it starts.
        deadline = time.time() + 10
        while not all(f"{svc}: requests are sealed" in s.procs["web-api"].log()
                      for svc in cls.keys):
            assert time.time() < deadline, "web-api never learnt the services' keys"
            time.sleep(0.05)

    @classmethod
    def tearDownClass(cls):
        s = cls.stack
        try:
            # The secrets never crossed the bus readable: no message at all
            # holds them, requests included (only tests that send in clear on
            # purpose use values outside SECRETS).
            for _, topic, payload, _ in s.bus.messages:
                for secret in SECRETS:
                    assert secret not in payload, f"{secret} in clear on {topic}: {payload}"
            log = "".join(p.log() for p in s.procs.values())
            for secret in SECRETS:
                assert secret not in log, f"{secret} in a log"
        finally:
            codes = s.stop()
            cls.sim_b.stop()
            cls.feeds.close()
            cls.evil.close()
        assert s.sanitizer_reports() == [], s.sanitizer_reports()
        assert all(c == 0 for c in codes.values()), codes

    def api(self, method, path, body=None):
        return self.stack.http(method, path, body,
                               {"Content-Type": "application/json"} if body is not None else None)

    def wait_status(self, sid, pred, since):
        return self.stack.bus.wait(f"svc/ical-ingest/source/{sid}/status",
                                   lambda p: isinstance(p, dict) and pred(p), since=since)

    def calendar_url(self, path="/cal.ics"):
        return self.feeds.url(path) + f"?u={TOKEN}"

    # ---- 1. sealed on the bus ----

    def test_1_secrets_through_rest_are_sealed_and_still_work(self):
        s = self.stack
        for svc, key in self.keys.items():
            self.assertEqual(key["alg"], "x25519-sealedbox")
            self.assertEqual(len(base64.b64decode(key["key"])), 32)
        key_file = os.path.join(s.dir, "data", "ical-ingest-request.key")
        self.assertEqual(os.stat(key_file).st_mode & 0o777, 0o600)
        since = time.time()
        status, body, _ = self.api("POST", "/api/sources", {
            "id": "sealed", "kind": "url", "url": self.calendar_url(), "username": USER,
            "password": PASSWORD, "extensions": ["2000"]})
        self.assertEqual(status, 200, body)
        st = self.wait_status("sealed", lambda p: p["state"] == "ok", since)
        self.assertEqual(st["http_status"], 200)
        # What crossed the bus: an envelope, nothing else.
        req = s.bus.wait("svc/ical-ingest/request/source/add", since=since)
        self.assertEqual(set(req), {"sealed", "transaction"})
        # The site: added with its secret, it logs in to its PBX.
        since = time.time()
        status, body, _ = self.api("POST", "/api/sites", {
            "name": "b", "url": f"http://127.0.0.1:{self.b_port}", "client_id": "site-b",
            "client_secret": B_SECRET})
        self.assertEqual(status, 200, body)
        self.assertTrue(body["secret_set"])
        s.bus.wait("site/b/directory", lambda p: isinstance(p, dict)
                   and len(p["extensions"]) == 2, since=since)
        s.bus.wait("site/b/status", lambda p: isinstance(p, dict) and p["state"] == "ok",
                   since=since)
        req = s.bus.wait("svc/yeastar-gateway/request/site/add", since=since)
        self.assertEqual(set(req), {"sealed", "transaction"})
        # An update with a new password is sealed too.
        since = time.time()
        status, body, _ = self.api("PATCH", "/api/sources/sealed", {"password": NEW_PASSWORD})
        self.assertEqual(status, 200, body)
        req = s.bus.wait("svc/ical-ingest/request/source/update", since=since)
        self.assertEqual(set(req), {"sealed", "transaction"})
        st = self.wait_status("sealed", lambda p: p["http_status"] == 401, since)
        status, body, _ = self.api("PATCH", "/api/sources/sealed", {"password": PASSWORD})
        self.assertEqual(status, 200, body)

    def test_2_no_key_no_secret_sent(self):
        s = self.stack
        # Without ical-ingest's key (cleared), web-api does not send a secret.
        s.bus.publish("svc/ical-ingest/pubkey", "", retain=True)
        try:
            since = time.time()
            deadline = time.time() + 10
            while True:
                status, body, _ = self.api("POST", "/api/sources", {
                    "id": "nokey", "kind": "url", "url": self.calendar_url("/other.ics"),
                    "extensions": ["2000"]})
                if status == 503 or time.time() > deadline:
                    break
                time.sleep(0.1)
            self.assertEqual(status, 503, body)
            self.assertIn("the service's key is not known yet", body["error"])
            time.sleep(0.3)
            self.assertFalse([m for m in s.bus.messages if m[0] >= since
                              and m[1] == "svc/ical-ingest/request/source/add"])
            # A request without a secret still goes (in clear).
            status, body, _ = self.api("GET", "/api/sources")
            self.assertEqual(status, 200, body)
        finally:
            s.bus.publish("svc/ical-ingest/pubkey", json.dumps(self.keys["ical-ingest"]),
                          retain=True)
        # The key is back: sealed again.
        deadline = time.time() + 10
        while True:
            status, body, _ = self.api("POST", "/api/sources", {
                "id": "withkey", "kind": "url", "url": self.calendar_url("/again.ics"),
                "extensions": ["2001"]})
            if status != 503 or time.time() > deadline:
                break
            time.sleep(0.1)
        self.assertEqual(status, 200, body)

    def test_3_clear_requests_work_but_are_warned_and_bad_boxes_refused(self):
        s = self.stack
        # An admin tool (mosquitto_rr) may still send in clear: it works, and
        # the service warns (naming the field, never its value).
        r = s.bus.request("ical-ingest", "source/add", {
            "id": "clear", "kind": "url", "url": self.feeds.url("/open.ics"),
            "username": "x", "password": "not-a-real-secret", "extensions": ["2002"]})
        self.assertEqual(r["status"], "ok", r)
        log = s.procs["ical-ingest"].log()
        self.assertIn("carries 'password' in clear", log)
        self.assertNotIn("not-a-real-secret", log)
        # Sealed by hand, the way docs/topics.md tells.
        key = json.dumps(self.keys["ical-ingest"])
        body = json.dumps({"id": "clear"}).encode()
        r = s.bus.request("ical-ingest", "source/list", {"sealed": seal(key, body)})
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual(r["data"]["sources"][0]["id"], "clear")
        r = s.bus.request("ical-ingest", "source/list", {"sealed": "bm90IGEgYm94"})
        self.assertEqual(r["status"], "error")
        self.assertIn("sealed", r["error"])
        # Sealed to the other service's key: refused, nothing read.
        other = json.dumps(self.keys["yeastar-gateway"])
        r = s.bus.request("ical-ingest", "source/list", {"sealed": seal(other, body)})
        self.assertEqual(r["status"], "error")
        self.assertIn("another key", r["error"])

    # ---- 2. stored secrets are not redirected ----

    def test_4_a_source_url_moving_elsewhere_needs_its_password(self):
        s = self.stack
        r = s.bus.request("ical-ingest", "source/add", {
            "id": "moving", "kind": "url", "url": self.feeds.url("/open.ics"),
            "username": USER, "password": "pw-kept-for-move-Ab1", "extensions": ["2003"]})
        self.assertEqual(r["status"], "ok", r)
        evil = self.evil.url("/steal.ics")
        r = s.bus.request("ical-ingest", "source/update", {"id": "moving", "url": evil})
        self.assertEqual(r["status"], "error", r)
        self.assertIn("field 'url'", r["error"])
        self.assertIn("'password'", r["error"])
        status, body, _ = self.api("PATCH", "/api/sources/moving",
                                 {"url": "https://calendar.example.net/x.ics"})
        self.assertEqual(status, 400, body)
        self.assertIn("field 'url'", body["error"])
        # The same server, another path: fine.
        r = s.bus.request("ical-ingest", "source/update",
                          {"id": "moving", "url": self.feeds.url("/open.ics?v=2")})
        self.assertEqual(r["status"], "ok", r)
        # With its password (or without one) it may move.
        since = time.time()
        r = s.bus.request("ical-ingest", "source/update",
                          {"id": "moving", "url": evil, "password": "given-again-Zz9"})
        self.assertEqual(r["status"], "ok", r)
        self.wait_status("moving", lambda p: p["last_attempt"] and not p["fetching"]
                         and p["http_status"] == 404, since)
        sent = [x["headers"].get("Authorization", "") for x in self.evil.seen()]
        self.assertTrue(sent)
        stolen = "Basic " + base64.b64encode(f"{USER}:pw-kept-for-move-Ab1".encode()).decode()
        self.assertNotIn(stolen, sent)

    def test_5_a_site_url_moving_elsewhere_needs_its_secret(self):
        s = self.stack
        r = s.bus.request("yeastar-gateway", "site/list", {})
        if "c" not in [x["name"] for x in r["data"]["sites"]]:
            r = s.bus.request("yeastar-gateway", "site/add", {
                "name": "c", "url": f"http://127.0.0.1:{self.b_port}", "client_id": "site-b",
                "client_secret": "not-b-secret-but-stored-0001"}, timeout=20)
            self.assertEqual(r["status"], "ok", r)
        evil = f"http://127.0.0.1:{self.evil.port}"
        for action in ("site/update", "site/test"):
            r = s.bus.request("yeastar-gateway", action, {"name": "c", "url": evil}, timeout=20)
            self.assertEqual(r["status"], "error", (action, r))
            self.assertIn("field 'url'", r["error"])
            self.assertIn("'client_secret'", r["error"])
        status, body, _ = self.api("PATCH", "/api/sites/c", {"url": evil})
        self.assertEqual(status, 400, body)
        self.assertIn("'client_secret'", body["error"])
        status, body, _ = self.api("POST", "/api/sites/c/test", {"url": "http://localhost:1"})
        self.assertEqual(status, 400, body)
        # Nothing ever reached the other server.
        time.sleep(0.5)
        self.assertEqual([x for x in self.evil.seen() if b"not-b-secret" in x["body"]], [])
        # With the secret in the same request, the move is allowed.
        r = s.bus.request("yeastar-gateway", "site/update",
                          {"name": "c", "url": evil, "client_secret": "another-one-given-42"},
                          timeout=20)
        self.assertEqual(r["status"], "ok", r)
        r = s.bus.request("yeastar-gateway", "site/remove", {"name": "c"}, timeout=20)
        self.assertEqual(r["status"], "ok", r)

    # ---- 3. calendar URLs and internal addresses ----

    def test_6_metadata_refused_even_when_private_is_allowed(self):
        s = self.stack
        cases = [("meta", "http://169.254.169.254/latest/meta-data/",
                  "169.254.169.254 is a cloud metadata address"),
                 ("linklocal", "http://169.254.10.20:8080/cal.ics",
                  "169.254.10.20 is a link-local address")]
        for sid, url, words in cases:
            with self.subTest(sid=sid):
                since = time.time()
                r = s.bus.request("ical-ingest", "source/add", {
                    "id": sid, "kind": "url", "url": url, "extensions": ["2004"]})
                self.assertEqual(r["status"], "ok", r)
                st = self.wait_status(sid, lambda p: p["state"] == "error", since)
                self.assertIn(words, st["error"])
                self.assertNotIn("SOURCE_ALLOW_PRIVATE_ADDRESSES", st["error"])
        # A redirect from an allowed host to the metadata address.
        self.feeds.redirect_to = "http://169.254.169.254/latest/meta-data/"
        since = time.time()
        r = s.bus.request("ical-ingest", "source/add", {
            "id": "hop", "kind": "url", "url": self.feeds.url("/redirect"),
            "extensions": ["2004"]})
        self.assertEqual(r["status"], "ok", r)
        st = self.wait_status("hop", lambda p: p["state"] == "error", since)
        self.assertIn("169.254.169.254 is a cloud metadata address", st["error"])
        self.assertIn("/redirect", [x["path"] for x in self.feeds.seen()])

    def test_7_errors_never_quote_the_answer(self):
        s = self.stack
        since = time.time()
        r = s.bus.request("ical-ingest", "source/add", {
            "id": "page", "kind": "url", "url": self.feeds.url("/page"),
            "extensions": ["2005"]})
        self.assertEqual(r["status"], "ok", r)
        st = self.wait_status("page", lambda p: p["state"] == "error", since)
        self.assertIn("HTTP 200, text/html; charset=utf-8, 58 bytes", st["error"])
        self.assertIn("not an iCalendar file", st["error"])
        ev = s.bus.wait("events/source", lambda p: p["id"] == "page"
                        and p["action"] == "failed", since=since)
        for text in (st["error"], ev["error"]):
            self.assertNotIn("admin console", text)
            self.assertNotIn("<html>", text)


class PrivateAddresses(unittest.TestCase):
    """SOURCE_ALLOW_PRIVATE_ADDRESSES=false, the default outside tests."""

    @classmethod
    def setUpClass(cls):
        cls.feeds = Server()
        cls.stack = Stack("87_private_addresses", sim=False,
                          env={"SOURCE_ALLOW_PRIVATE_ADDRESSES": "false"}).start("ical-ingest")

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.stop()
        cls.feeds.close()
        assert cls.stack.sanitizer_reports() == [], cls.stack.sanitizer_reports()
        assert codes == {"ical-ingest": 0}, codes

    def test_loopback_refused_by_default(self):
        s = self.stack
        for sid, url, addr in [("local", self.feeds.url("/open.ics"), "127.0.0.1"),
                               ("local6", "http://[::1]:9/cal.ics", "::1"),
                               ("name", f"http://localhost:{self.feeds.port}/open.ics", "")]:
            with self.subTest(sid=sid):
                since = time.time()
                r = s.bus.request("ical-ingest", "source/add", {
                    "id": sid, "kind": "url", "url": url, "extensions": ["2000"]})
                self.assertEqual(r["status"], "ok", r)
                st = s.bus.wait(f"svc/ical-ingest/source/{sid}/status",
                                lambda p: isinstance(p, dict) and p["state"] == "error",
                                since=since)
                self.assertIn(f"{addr} is a private or loopback address", st["error"])
                self.assertIn("SOURCE_ALLOW_PRIVATE_ADDRESSES=true", st["error"])
        self.assertEqual(self.feeds.seen(), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)

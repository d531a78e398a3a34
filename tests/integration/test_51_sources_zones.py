"""ical-ingest against a real mosquitto (and the real scheduler for the
settings): plannings read in each extension's own time zone (weekly slots,
floating times, all-day events) and republished when it changes, kept
across a restart; a server's Retry-After after 429 or 503 delaying the next
download; permanent redirects (301, 308) remembered as the source's URL,
temporary ones (302, 307) not, credentials never carried to another host.
Calendars come from a small local HTTP server; the services run on a fake
clock (CLOCK_OFFSET_MS), and tests check state, never durations."""
import base64
import datetime
import email.utils
import http.server
import json
import os
import threading
import time
import unittest
import urllib.parse

from harness import Stack, parse_time

TOKEN = "Zq8s3cr3tW4vN7pK2xL9"
PASSWORD = "pa55-Zr7t-Qw9e"
USER = "bob"
PARIS = datetime.timezone(datetime.timedelta(hours=2))
# Monday 30 March 2026, 07:00 in Paris (summer time), 01:00 in New York.
MONDAY = datetime.datetime(2026, 3, 30, 7, 0, 0, tzinfo=PARIS).timestamp()
NO_SECRET_TOPICS = ("svc/ical-ingest/request/",)


def calendar(*events, extra_header=()):
    """A calendar of (uid, property lines) events."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//zones//EN", *extra_header]
    for uid, props in events:
        lines += ["BEGIN:VEVENT", f"UID:{uid}", "DTSTAMP:20260330T050000Z", *props, "END:VEVENT"]
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n").encode()


SIMPLE = calendar(("c1", ["DTSTART:20260330T080000Z", "DTEND:20260330T090000Z",
                          "SUMMARY:Cours"]))


class Server:
    """Answers each path with a function of the request: (code, headers, body)."""

    def __init__(self):
        self.routes = {}
        self.requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                u = urllib.parse.urlsplit(self.path)
                with outer.lock:
                    outer.requests.append({"path": u.path, "query": u.query,
                                           "headers": dict(self.headers)})
                route = outer.routes.get(u.path)
                code, headers, body = route(self) if route else (404, [], b"not here")
                try:
                    self.send_response(code)
                    for k, v in headers:
                        self.send_header(k, v)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path, host="127.0.0.1"):
        return f"http://{host}:{self.port}{path}"

    def seen(self, path):
        with self.lock:
            return [r for r in self.requests if r["path"] == path]

    def close(self):
        self.httpd.shutdown()


def check_no_secret(stack, secrets):
    """The secrets are in no message but the requests that carried them,
    not in the log, not in clear in the database."""
    for _, topic, payload, _ in stack.bus.messages:
        if topic.startswith(NO_SECRET_TOPICS):
            continue
        for secret in secrets:
            assert secret not in payload, f"{secret} published on {topic}: {payload}"
    log = stack.procs["ical-ingest"].log()
    for secret in secrets:
        assert secret not in log, f"{secret} in the ical-ingest log"
    data_dir = os.path.join(stack.dir, "data")
    for name in os.listdir(data_dir):
        if os.path.isdir(os.path.join(data_dir, name)):
            continue  # mqtt/: the broker's users
        with open(os.path.join(data_dir, name), "rb") as f:
            data = f.read()
        for secret in secrets:
            assert secret.encode() not in data, f"{secret} in clear in {name}"


class Base(unittest.TestCase):
    stack = None

    def request(self, action, body):
        r = self.stack.bus.request("ical-ingest", f"source/{action}", body)
        self.assertEqual(r["status"], "ok", r)
        return r["data"]

    def status(self, sid, pred=lambda p: True, since=0.0, timeout=15):
        return self.stack.bus.wait(f"svc/ical-ingest/source/{sid}/status",
                                   lambda p: isinstance(p, dict) and pred(p), timeout, since)

    def add_url(self, sid, url, ext, **more):
        """Adds a URL source and returns its status after the first download."""
        since = time.time()
        self.request("add", dict({"id": sid, "kind": "url", "url": url, "extension": ext}, **more))
        return self.status(sid, lambda p: not p["fetching"] and p["state"] != "pending", since)

    def refresh(self, sid):
        since = time.time()
        data = self.request("refresh", {"id": sid})
        self.assertEqual(data["sources"][0]["result"], "downloading")
        return self.status(sid, lambda p: not p["fetching"] and p["last_attempt"], since)


def slot_view(schedule):
    return sorted((s["start"], s["end"], s["status"], s["summary"]) for s in schedule["slots"])


class ExtensionZones(Base):
    """Extension 2001 moves to New York through the scheduler's settings:
    its weekly slot stays 08:00 on its own wall clock, a floating time and an
    all-day event are read in its zone, a time with a TZID keeps its
    instant; extension 2000 (same plannings) stays in Paris."""

    PLANNING = calendar(
        ("float", ["DTSTART:20260330T150000", "DTEND:20260330T160000", "SUMMARY:Cours flottant"]),
        ("day", ["DTSTART;VALUE=DATE:20260331", "DTEND;VALUE=DATE:20260401",
                 "SUMMARY:Formation"]),
        ("zoned", ["DTSTART;TZID=Europe/Paris:20260330T180000",
                   "DTEND;TZID=Europe/Paris:20260330T190000", "SUMMARY:Réunion"]))
    PARIS_VIEW = [
        ("2026-03-30T08:00:00+02:00", "2026-03-30T12:00:00+02:00", "away", ""),
        ("2026-03-30T15:00:00+02:00", "2026-03-30T16:00:00+02:00", "business_trip", "Cours flottant"),
        ("2026-03-30T18:00:00+02:00", "2026-03-30T19:00:00+02:00", "do_not_disturb", "Réunion"),
        ("2026-03-31T00:00:00+02:00", "2026-04-01T00:00:00+02:00", "business_trip", "Formation"),
        ("2026-04-06T08:00:00+02:00", "2026-04-06T12:00:00+02:00", "away", ""),
    ]
    NEW_YORK_VIEW = [
        ("2026-03-30T08:00:00-04:00", "2026-03-30T12:00:00-04:00", "away", ""),
        ("2026-03-30T12:00:00-04:00", "2026-03-30T13:00:00-04:00", "do_not_disturb", "Réunion"),
        ("2026-03-30T15:00:00-04:00", "2026-03-30T16:00:00-04:00", "business_trip", "Cours flottant"),
        ("2026-03-31T00:00:00-04:00", "2026-04-01T00:00:00-04:00", "business_trip", "Formation"),
        ("2026-04-06T08:00:00-04:00", "2026-04-06T12:00:00-04:00", "away", ""),
    ]

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack("51_sources_zones", fake_time=MONDAY, sim=False,
                          env={"SCHEDULE_HORIZON_DAYS": "8",
                               "ALLOW_UNLISTED_EXTENSIONS": "true"}  # no PBX
                          ).start("ical-ingest", "scheduler")
        s = cls.stack
        for body in (
                {"id": "week", "kind": "weekly", "format": "csv",
                 "content": "extension,day,start_time,end_time,status\n"
                            "2000,lundi,08:00,12:00,away\n2001,lundi,08:00,12:00,away\n"},
                {"id": "cal", "kind": "ics", "content": cls.PLANNING.decode(),
                 "extensions": ["2000", "2001"]}):
            r = s.bus.request("ical-ingest", "source/add", body)
            assert r["status"] == "ok", r

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.stop()
        assert cls.stack.sanitizer_reports() == [], cls.stack.sanitizer_reports()
        assert all(c == 0 for c in codes.values()), codes

    def schedule(self, ext, pred, since=0.0):
        return self.stack.bus.wait(f"ext/main/{ext}/schedule", pred, since=since)

    def set_zone(self, ext, zone):
        """Through the scheduler, as a user would; returns when its settings
        are published."""
        since = time.time()
        self.stack.bus.publish(f"ext/main/{ext}/settings/set", json.dumps({"timezone": zone}))
        self.stack.bus.wait(f"ext/main/{ext}/settings",
                            lambda p: isinstance(p, dict) and p["timezone"] == zone, since=since)
        return since

    def test_01_every_extension_starts_in_timezone(self):
        for ext in ("2000", "2001"):
            sched = self.schedule(ext, lambda p: len(p["slots"]) == 5)
            self.assertEqual(slot_view(sched), self.PARIS_VIEW)

    def test_02_a_zone_from_the_settings_republishes_in_it(self):
        self.schedule("2001", lambda p: len(p["slots"]) == 5)
        since = self.set_zone("2001", "America/New_York")
        sched = self.schedule("2001", lambda p: p["slots"][0]["start"].endswith("-04:00"), since)
        self.assertEqual(slot_view(sched), self.NEW_YORK_VIEW)
        # The horizon stays TIMEZONE's midnights, written in the extension's offset.
        self.assertEqual(sched["horizon"], {"start": "2026-03-29T18:00:00-04:00",
                                            "end": "2026-04-06T18:00:00-04:00"})
        # 2000 was not touched.
        self.assertFalse([m for m in self.stack.bus.messages
                          if m[1] == "ext/main/2000/schedule" and m[0] >= since])
        # The scheduler reads the new slots: 2001's next change is its 08:00 in New York.
        desired = self.stack.bus.wait("ext/main/2001/desired", lambda p: (
            p.get("next_change") or {}).get("at") == "2026-03-30T08:00:00-04:00")
        self.assertEqual(desired["next_change"]["status"], "away")
        log = self.stack.procs["ical-ingest"].log()
        self.assertIn("main/2001: its plannings are now read in America/New_York", log)

    def test_03_the_zone_survives_a_restart(self):
        s = self.stack
        self.schedule("2001", lambda p: p["slots"][0]["start"].endswith("-04:00"))
        s.procs["ical-ingest"].stop()
        since = time.time()
        s.start("ical-ingest")
        # The first schedule after the start is already in New York: no
        # detour through TIMEZONE before the retained settings arrive.
        first = self.schedule("2001", lambda p: True, since)
        self.assertEqual(slot_view(first), self.NEW_YORK_VIEW)

    def test_04_an_unknown_extension_gets_no_schedule(self):
        s = self.stack
        since = time.time()
        # Settings of an extension no planning feeds (as the scheduler
        # publishes them), then a change that is seen.
        s.bus.publish("ext/main/7777/settings", json.dumps({
            "planning": "on", "default_status": None, "timezone": "America/New_York",
            "effective": {"default_status": "available", "timezone": "America/New_York"}}),
            retain=True)
        self.set_zone("2000", "Asia/Tokyo")
        sched = self.schedule("2000", lambda p: p["slots"][0]["start"].endswith("+09:00"), since)
        self.assertEqual(sched["slots"][0]["start"], "2026-03-30T08:00:00+09:00")
        self.assertFalse([m for m in s.bus.messages
                          if m[1] == "ext/main/7777/schedule" and m[0] >= since])
        # Settings that cannot be read change nothing.
        s.bus.publish("ext/main/2000/settings", "not json", retain=True)
        self.request("list", {})  # read after the settings: a barrier
        self.assertEqual(json.loads(s.bus.last("ext/main/2000/schedule"))["slots"][0]["start"],
                         "2026-03-30T08:00:00+09:00")
        self.assertIn("main/2000: settings not understood", s.procs["ical-ingest"].log())

    def test_05_null_goes_back_to_timezone(self):
        for ext in ("2000", "2001"):
            since = self.set_zone(ext, None)
            sched = self.schedule(ext, lambda p: p["slots"][0]["start"].endswith("+02:00"), since)
            self.assertEqual(slot_view(sched), self.PARIS_VIEW)


class RetryAfter(Base):
    """A 429 or 503 with Retry-After: the next attempt is not before the
    time asked (seconds or HTTP-date), never sooner than the backoff, at
    most 24 hours away; kept across a restart."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        cls.stack = Stack("51_sources_retry_after", fake_time=MONDAY, sim=False).start("ical-ingest")
        cls.down_until = None
        cls.recovered = False

        def busy(seconds):
            return lambda h: (429, [("Retry-After", seconds)], b"slow down")

        def down(h):
            if cls.recovered:
                return 200, [("Content-Type", "text/calendar")], SIMPLE
            # Three hours from now on the services' (fake) clock.
            if cls.down_until is None:
                cls.down_until = int(cls.stack.fake_now()) + 3 * 3600
            return 503, [("Retry-After", email.utils.formatdate(cls.down_until, usegmt=True))], \
                b"maintenance"

        cls.server.routes.update({
            "/busy": busy("7200"),
            "/busy-short": busy("1"),
            "/busy-long": busy("604800"),
            "/busy-bad": busy("soon"),
            "/down": down,
            "/error": lambda h: (500, [("Retry-After", "7200")], b"broken"),
        })

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.stop()
        cls.server.close()
        assert cls.stack.sanitizer_reports() == [], cls.stack.sanitizer_reports()
        assert codes == {"ical-ingest": 0}, codes

    def wait_of(self, st):
        return parse_time(st["next_attempt"]) - parse_time(st["last_attempt"])

    def test_01_seconds(self):
        since = time.time()
        st = self.add_url("busy", self.server.url("/busy"), "3000")
        self.assertEqual((st["state"], st["http_status"]), ("error", 429))
        self.assertIn("HTTP 429: the server asks to slow down (it asks to wait until ", st["error"])
        # 7200 s after the answer, which came within a few seconds of the attempt.
        self.assertTrue(7200 <= self.wait_of(st) < 7200 + 30, st)
        ev = self.stack.bus.wait("events/source", lambda p: p["id"] == "busy"
                                 and p["action"] == "failed", since=since)
        self.assertEqual(ev["next_attempt"], st["next_attempt"])

    def test_02_http_date(self):
        st = self.add_url("down", self.server.url("/down"), "3001")
        self.assertEqual((st["state"], st["http_status"]), ("error", 503))
        self.assertEqual(parse_time(st["next_attempt"]), self.down_until)
        self.assertIn("HTTP 503: the server failed (it asks to wait until ", st["error"])

    def test_03_never_sooner_than_the_backoff_and_at_most_a_day(self):
        st = self.add_url("short", self.server.url("/busy-short"), "3002")
        self.assertEqual(st["http_status"], 429)
        self.assertTrue(60 * 0.8 <= self.wait_of(st) <= 60 * 1.2, st)  # the first backoff
        st = self.add_url("long", self.server.url("/busy-long"), "3003")
        self.assertTrue(86400 <= self.wait_of(st) < 86400 + 30, st)
        # Unreadable, or with a status it does not apply to: the backoff.
        for sid, path in (("bad", "/busy-bad"), ("error", "/error")):
            st = self.add_url(sid, self.server.url(path), "3004")
            self.assertTrue(60 * 0.8 <= self.wait_of(st) <= 60 * 1.2, st)
            self.assertNotIn("asks to wait", st["error"])
        self.assertIn("Retry-After 'soon' is neither seconds nor an HTTP-date",
                      self.stack.procs["ical-ingest"].log())

    def test_04_kept_across_a_restart_and_cleared_by_a_success(self):
        s = self.stack
        self.status("down", lambda p: p["http_status"] == 503)
        s.procs["ical-ingest"].stop()
        since = time.time()
        s.start("ical-ingest")
        st = self.status("down", lambda p: True, since)
        self.assertEqual(parse_time(st["next_attempt"]), self.down_until)
        # An explicit refresh is not held back; its success ends the wait.
        type(self).recovered = True
        st = self.refresh("down")
        self.assertEqual((st["state"], st["http_status"]), ("ok", 200))
        self.assertTrue(270 <= self.wait_of(st) <= 330, st)  # the refresh interval


class PermanentRedirects(Base):
    """301 and 308 to a good answer: the source's URL becomes the new one
    (stored, shown masked, logged, told as an event); 302 and 307 keep it,
    and so does a chain with a temporary hop or a failing end. Credentials
    stay on their host."""

    @classmethod
    def setUpClass(cls):
        cls.server = Server()
        srv = cls.server
        auth = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

        def calendar_at(h):
            return 200, [("Content-Type", "text/calendar")], SIMPLE

        def private(h):
            if h.headers.get("Authorization") != auth:
                return 401, [("WWW-Authenticate", 'Basic realm="cal"')], b"who are you"
            return calendar_at(h)

        def redirect(code, target):
            return lambda h: (code, [("Location", target)], b"")

        def tokened(h):
            q = urllib.parse.parse_qs(urllib.parse.urlsplit(h.path).query)
            return calendar_at(h) if q.get("u") == [TOKEN] else (403, [], b"bad token")

        srv.routes.update({
            "/new/ical/": tokened,
            "/old/ical/": redirect(301, f"/new/ical/?u={TOKEN}"),
            "/moved/ical/": redirect(308, srv.url(f"/new/ical/?u={TOKEN}")),
            "/two/": redirect(301, "/moved/ical/?u=x"),
            "/found/": redirect(302, f"/new/ical/?u={TOKEN}"),
            "/temporary/": redirect(307, f"/new/ical/?u={TOKEN}"),
            "/mixed/": redirect(301, "/found/"),
            "/broken/": lambda h: (500, [], b"broken"),
            "/old-broken/": redirect(301, "/broken/"),
            "/private/old.ics": redirect(301, "/private/new.ics"),
            "/private/new.ics": private,
            "/private/away.ics": redirect(301, srv.url("/public/cal.ics", host="localhost")),
            "/public/cal.ics": calendar_at,
        })
        cls.stack = Stack("51_sources_redirects", fake_time=MONDAY, sim=False,
                          env={"SOURCE_MAX_REDIRECTS": "3"}).start("ical-ingest")

    @classmethod
    def tearDownClass(cls):
        s = cls.stack
        try:
            check_no_secret(s, (TOKEN, PASSWORD))
        finally:
            codes = s.stop()
            cls.server.close()
        assert s.sanitizer_reports() == [], s.sanitizer_reports()
        assert codes == {"ical-ingest": 0}, codes

    def test_01_permanent_redirects_move_the_source(self):
        s = self.stack
        for sid, path in (("p301", "/old/ical/"), ("p308", "/moved/ical/")):
            with self.subTest(sid=sid):
                since = time.time()
                old = self.server.url(f"{path}?u={TOKEN}")
                st = self.add_url(sid, old, "4000")
                self.assertEqual(st["state"], "ok", st)
                st = self.status(sid, lambda p: "/new/" in p["url"], since)
                self.assertEqual(st["url"], self.server.url("/new/ical/?u=***"))
                ev = s.bus.wait("events/source", lambda p: p["id"] == sid
                                and p["action"] == "moved", since=since)
                self.assertEqual((ev["previous_url"], ev["url"]),
                                 (self.server.url(f"{path}?u=***"),
                                  self.server.url("/new/ical/?u=***")))
                self.assertIn(f"source {sid}: the calendar moved permanently (1 redirect): "
                              f"{self.server.url(path + '?u=***')} is now "
                              f"{self.server.url('/new/ical/?u=***')}",
                              s.procs["ical-ingest"].log())
                # Later downloads go to the new URL directly.
                before = len(self.server.seen(path))
                st = self.refresh(sid)
                self.assertEqual(st["state"], "ok")
                self.assertEqual(len(self.server.seen(path)), before)
        # Two permanent hops in a row: the end of the chain.
        st = self.add_url("twice", self.server.url("/two/"), "4000")
        self.status("twice", lambda p: p["url"] == self.server.url("/new/ical/?u=***"))

    def test_02_temporary_redirects_and_failures_keep_the_url(self):
        for sid, path in (("r302", "/found/"), ("r307", "/temporary/"),
                          ("mixed", "/mixed/"), ("oldbroken", "/old-broken/")):
            with self.subTest(sid=sid):
                st = self.add_url(sid, self.server.url(path), "4001")
                self.assertEqual(st["state"], "error" if sid == "oldbroken" else "ok", st)
                self.assertEqual(st["url"], self.server.url(path))
                before = len(self.server.seen(path))
                self.refresh(sid)
                self.assertEqual(len(self.server.seen(path)), before + 1)
        self.assertFalse([m for m in self.stack.bus.messages if m[1] == "events/source"
                          and json.loads(m[2])["action"] == "moved"
                          and json.loads(m[2])["id"] in ("r302", "r307", "mixed", "oldbroken")])

    def test_03_credentials_stay_on_their_host(self):
        log = lambda: self.stack.procs["ical-ingest"].log()
        # Same host: the move is stored and the credentials go with it.
        st = self.add_url("cred", self.server.url("/private/old.ics"), "4002",
                          username=USER, password=PASSWORD)
        self.assertEqual(st["state"], "ok", st)
        self.status("cred", lambda p: p["url"] == self.server.url("/private/new.ics"))
        st = self.refresh("cred")
        self.assertEqual((st["state"], st["http_status"]), ("ok", 200))
        self.assertEqual(self.server.seen("/private/new.ics")[-1]["headers"]
                         .get("Authorization", "").split()[0], "Basic")
        # Another host: libcurl does not send them there, and the source
        # keeps its URL so that they are never sent there later either.
        st = self.add_url("credaway", self.server.url("/private/away.ics"), "4003",
                          username=USER, password=PASSWORD)
        self.assertEqual(st["state"], "ok", st)
        self.assertEqual(st["url"], self.server.url("/private/away.ics"))
        self.assertNotIn("Authorization", self.server.seen("/public/cal.ics")[-1]["headers"])
        # (the log masks a URL without hidden parts whole)
        self.assertIn("source credaway: *** moved permanently, but it is kept: it is on "
                      "another host", log())
        self.refresh("credaway")
        self.assertEqual(len(self.server.seen("/private/away.ics")), 2)

    def test_04_the_new_url_survives_a_restart(self):
        s = self.stack
        self.status("p301", lambda p: "/new/" in p["url"])
        s.procs["ical-ingest"].stop()
        since = time.time()
        s.start("ical-ingest")
        st = self.status("p301", lambda p: True, since)
        self.assertEqual(st["url"], self.server.url("/new/ical/?u=***"))
        before = len(self.server.seen("/old/ical/"))
        st = self.refresh("p301")
        self.assertEqual(st["state"], "ok")
        self.assertEqual(len(self.server.seen("/old/ical/")), before)


if __name__ == "__main__":
    unittest.main(verbosity=2)

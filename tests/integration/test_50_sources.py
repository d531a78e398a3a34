"""Planning sources in ical-ingest against a real mosquitto and a small local
HTTP server that serves calendars the way real ones do (ETag,
Last-Modified, 304, redirects, basic auth, a URL token) and fails the way
real ones fail (500, a hang, an HTML page, an oversized body): the request
topics, the last good schedule kept, the status topic and events, secrets
never shown; and a calendar URL driving the PBX simulator end to end."""
import base64
import datetime
import hashlib
import http.server
import json
import os
import subprocess
import threading
import time
import unittest
import urllib.parse

from harness import Stack, parse_time

TOKEN = "Tk9s3cr3tQ7xZ5mW2pL8"
PASSWORD = "pa55-w0rd-Vq3e"
USER = "alice"
PARIS = datetime.timezone(datetime.timedelta(hours=2))
# Monday 30 March 2026, 07:00 in Paris (summer time).
MONDAY = datetime.datetime(2026, 3, 30, 7, 0, 0, tzinfo=PARIS).timestamp()


def utc(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")


def ics(*events, extra=""):
    """A calendar of (uid, start, end, summary, extra lines) events."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//sources//EN"]
    for uid, start, end, summary, more in events:
        lines += ["BEGIN:VEVENT", f"UID:{uid}", f"DTSTAMP:{utc(MONDAY)}",
                  f"DTSTART:{utc(start)}", f"DTEND:{utc(end)}", f"SUMMARY:{summary}"]
        lines += more
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return ("\r\n".join(lines) + "\r\n" + extra).encode()


def at(hour, minute=0, day=0):
    return MONDAY + day * 86400 + (hour - 7) * 3600 + minute * 60


PLANNING = ics(("c1", at(8), at(10), "Cours de maths 4B", []),
               ("r1", at(14), at(15), "Réunion d'équipe", []),
               ("f1", at(16), at(17), "Lunch", ["X-MICROSOFT-CDO-BUSYSTATUS:FREE"]),
               ("o1", at(9, day=1), at(12, day=1), "Dentist", ["X-MICROSOFT-CDO-BUSYSTATUS:OOF"]))
PLANNING_2 = ics(("c1", at(8), at(11), "Cours de maths 4B", []))


class FeedServer:
    """Calendars over HTTP, with a switch to make each path misbehave."""

    def __init__(self):
        self.body = {"feed": PLANNING, "auth": PLANNING_2}
        self.mode = "ok"        # ok, 500, hang, garbage, big
        self.requests = []
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                outer.handle(self)

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def seen(self, prefix):
        with self.lock:
            return [r for r in self.requests if r["path"].startswith(prefix)]

    def send(self, h, code, body=b"", headers=()):
        try:
            h.send_response(code)
            for k, v in headers:
                h.send_header(k, v)
            h.send_header("Content-Length", str(len(body)))
            h.end_headers()
            h.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up first (the timeout case)

    def serve_calendar(self, h, name):
        body = self.body[name]
        etag = '"%s"' % hashlib.sha1(body).hexdigest()[:16]
        modified = "Mon, 30 Mar 2026 05:00:00 GMT"
        if h.headers.get("If-None-Match") == etag:
            return self.send(h, 304, headers=[("ETag", etag)])
        if self.mode == "500":
            return self.send(h, 500, b"internal error")
        if self.mode == "hang":
            time.sleep(4)
            return self.send(h, 200, body)
        if self.mode == "garbage":
            return self.send(h, 200, b"<!DOCTYPE html><html><body>Please log in</body></html>",
                             [("Content-Type", "text/html")])
        if self.mode == "big":
            return self.send(h, 200, body + b"X-FILLER:" + b"x" * 200000 + b"\r\n")
        if self.mode == "truncated":
            return self.send(h, 200, body[:len(body) // 2])
        self.send(h, 200, body, [("ETag", etag), ("Last-Modified", modified),
                                 ("Content-Type", "text/calendar; charset=utf-8")])

    def handle(self, h):
        u = urllib.parse.urlsplit(h.path)
        q = urllib.parse.parse_qs(u.query)
        with self.lock:
            self.requests.append({"path": u.path, "query": q, "headers": dict(h.headers)})
        if u.path == "/feed/ical/":
            if q.get("u") != [TOKEN]:
                return self.send(h, 403, b"bad token")
            return self.serve_calendar(h, "feed")
        if u.path.startswith("/hop/"):
            n = int(u.path.split("/")[2])
            target = f"/hop/{n - 1}" if n > 0 else f"/feed/ical/?u={TOKEN}"
            return self.send(h, 302, headers=[("Location", target)])
        if u.path == "/loop":
            return self.send(h, 301, headers=[("Location", "/loop")])
        if u.path == "/private/cal.ics":
            expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()
            if h.headers.get("Authorization") != expected:
                return self.send(h, 401, b"who are you", [("WWW-Authenticate", 'Basic realm="cal"')])
            return self.serve_calendar(h, "auth")
        self.send(h, 404, b"not here")

    def close(self):
        self.httpd.shutdown()


def slots_of(schedule, source):
    return [(s["start"], s["end"], s["status"], s["summary"])
            for s in schedule["slots"] if s["source"] == source]


class Sources(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.feeds = FeedServer()
        cls.stack = Stack("50_sources", fake_time=MONDAY, sim=False, env={
            "SOURCE_MAX_BYTES": "100000",
            "SOURCE_TIMEOUT_SECONDS": "2",
            "SOURCE_MAX_REDIRECTS": "3",
        }).start("ical-ingest")

    @classmethod
    def tearDownClass(cls):
        s = cls.stack
        try:
            # The secrets never leave: not in any message but the requests
            # that carried them, not in the log, not in clear in the database.
            for t, topic, payload, _ in s.bus.messages:
                if topic.startswith("svc/ical-ingest/request/"):
                    continue
                for secret in (TOKEN, PASSWORD):
                    assert secret not in payload, f"{secret} published on {topic}: {payload}"
            log = s.procs["ical-ingest"].log()
            for secret in (TOKEN, PASSWORD):
                assert secret not in log, f"{secret} in the ical-ingest log"
            for name in os.listdir(os.path.join(s.dir, "data")):
                if os.path.isdir(os.path.join(s.dir, "data", name)):
                    continue  # mqtt/: the broker's users
                with open(os.path.join(s.dir, "data", name), "rb") as f:
                    data = f.read()
                for secret in (TOKEN, PASSWORD):
                    assert secret.encode() not in data, f"{secret} in clear in {name}"
        finally:
            codes = s.stop()
            cls.feeds.close()
        assert s.sanitizer_reports() == [], s.sanitizer_reports()
        assert codes == {"ical-ingest": 0}, codes

    def request(self, action, body):
        return self.stack.bus.request("ical-ingest", f"source/{action}", body)

    def ok(self, action, body):
        r = self.request(action, body)
        self.assertEqual(r["status"], "ok", r)
        return r["data"]

    def refused(self, action, body, words):
        r = self.request(action, body)
        self.assertEqual(r["status"], "error", r)
        self.assertIn(words, r["error"])
        return r

    def status(self, sid, pred=lambda p: True, since=0.0, timeout=15):
        return self.stack.bus.wait(f"svc/ical-ingest/source/{sid}/status",
                                   lambda p: isinstance(p, dict) and pred(p), timeout, since)

    def refresh(self, sid):
        since = time.time()
        data = self.ok("refresh", {"id": sid})
        self.assertEqual(data["sources"][0]["result"], "downloading")
        return self.status(sid, lambda p: not p["fetching"] and p["last_attempt"], since)

    def test_01_url_source_becomes_slots_with_mapped_statuses(self):
        s = self.stack
        since = time.time()
        data = self.ok("add", {"id": "alice", "kind": "url", "name": "Alice (iPlanning)",
                               "url": self.feeds.url(f"/feed/ical/?u={TOKEN}"),
                               "extension": "2000"})
        self.assertEqual(data["url"], self.feeds.url("/feed/ical/?u=***"))
        self.assertEqual(data["extensions"], ["2000"])
        st = self.status("alice", lambda p: p["state"] == "ok", since)
        self.assertEqual(st["http_status"], 200)
        self.assertEqual(st["failures"], 0)
        self.assertIsNone(st["error"])
        self.assertEqual(st["ignored"], 1)  # the FREE event
        sched = s.bus.wait("ext/main/2000/schedule", lambda p: len(p["slots"]) == 3, since=since)
        self.assertEqual(slots_of(sched, "alice"), [
            ("2026-03-30T08:00:00+02:00", "2026-03-30T10:00:00+02:00", "business_trip", "Cours de maths 4B"),
            ("2026-03-30T14:00:00+02:00", "2026-03-30T15:00:00+02:00", "do_not_disturb", "Réunion d'équipe"),
            ("2026-03-31T09:00:00+02:00", "2026-03-31T12:00:00+02:00", "away", "Dentist")])
        self.assertEqual(sched["slots"][0]["uid"], "c1/20260330T060000Z")
        s.bus.wait("events/source", lambda p: p["id"] == "alice" and p["action"] == "added", since=since)
        s.bus.wait("events/source", lambda p: p["id"] == "alice" and p["action"] == "fetched", since=since)
        first = self.feeds.seen("/feed/ical/")[0]["headers"]
        self.assertIn("PresenceBus/", first["User-Agent"])
        self.assertNotIn("If-None-Match", first)

    def test_02_conditional_get_answers_304_and_keeps_slots(self):
        s = self.stack
        self.status("alice", lambda p: p["state"] == "ok")
        before = len(self.feeds.seen("/feed/ical/"))
        since = time.time()
        st = self.refresh("alice")
        self.assertEqual(st["state"], "ok")
        self.assertEqual(st["http_status"], 304)
        last = self.feeds.seen("/feed/ical/")[before:][0]["headers"]
        self.assertTrue(last.get("If-None-Match", "").startswith('"'))
        self.assertEqual(last.get("If-Modified-Since"), "Mon, 30 Mar 2026 05:00:00 GMT")
        self.assertIn("gzip", last.get("Accept-Encoding", ""))
        # The next download: SOURCE_REFRESH_MINUTES (5) +-10 % jitter.
        wait = parse_time(st["next_attempt"]) - parse_time(st["last_attempt"])
        self.assertTrue(270 <= wait <= 330, wait)
        # Nothing changed: no new schedule.
        time.sleep(0.3)
        self.assertFalse([m for m in s.bus.messages
                          if m[1] == "ext/main/2000/schedule" and m[0] >= since])

    def test_03_failures_keep_the_last_good_schedule(self):
        s = self.stack
        good = json.loads(s.bus.last("ext/main/2000/schedule"))
        cases = [("500", "HTTP 500: the server failed"),
                 ("hang", "timed out"),
                 # What was answered, never its bytes (the URL may lead to an
                 # internal page).
                 ("garbage", "HTTP 200, text/html, 54 bytes: this is not an iCalendar file: "
                             "it does not start with BEGIN:VCALENDAR (54 bytes)"),
                 ("big", "larger than SOURCE_MAX_BYTES (100000 bytes): refused"),
                 ("truncated", "the calendar is truncated: it does not end with END:VCALENDAR")]
        self.feeds.body["feed"] = PLANNING_2  # new content, so no 304 hides the failure
        failures = 0
        for mode, words in cases:
            with self.subTest(mode=mode):
                self.feeds.mode = mode
                since = time.time()
                st = self.refresh("alice")
                failures += 1
                self.assertEqual(st["state"], "error")
                self.assertIn(words, st["error"])
                self.assertEqual(st["failures"], failures)
                self.assertIsNotNone(st["next_attempt"])
                ev = s.bus.wait("events/source", lambda p: p["id"] == "alice"
                                and p["action"] == "failed", since=since)
                self.assertIn(words, ev["error"])
                self.assertEqual(ev["failures"], failures)
                # The last good schedule stays: not republished, not emptied.
                self.assertEqual(json.loads(s.bus.last("ext/main/2000/schedule")), good)
        # The backoff grows: the next attempt is further away after 5 failures.
        st = json.loads(s.bus.last("svc/ical-ingest/source/alice/status"))
        wait = parse_time(st["next_attempt"]) - parse_time(st["last_attempt"])
        self.assertGreater(wait, 16 * 60 * 0.8)
        # Back to normal: the new content is read, the failure count resets.
        self.feeds.mode = "ok"
        since = time.time()
        st = self.refresh("alice")
        self.assertEqual(st["state"], "ok")
        self.assertEqual(st["failures"], 0)
        sched = s.bus.wait("ext/main/2000/schedule", lambda p: len(p["slots"]) == 1, since=since)
        self.assertEqual(slots_of(sched, "alice"), [
            ("2026-03-30T08:00:00+02:00", "2026-03-30T11:00:00+02:00", "business_trip", "Cours de maths 4B")])
        ev = s.bus.wait("events/source", lambda p: p["id"] == "alice" and p["action"] == "fetched",
                        since=since)
        self.assertTrue(ev["changed"])

    def test_04_redirects_are_followed_up_to_the_limit(self):
        s = self.stack
        since = time.time()
        self.ok("add", {"id": "hops", "kind": "url", "url": self.feeds.url("/hop/2"),
                        "extensions": ["2001"]})
        st = self.status("hops", lambda p: p["state"] != "pending", since)
        self.assertEqual(st["state"], "ok", st)
        s.bus.wait("ext/main/2001/schedule", lambda p: len(p["slots"]) == 1, since=since)
        since = time.time()
        self.ok("add", {"id": "loop", "kind": "url", "url": self.feeds.url("/loop"),
                        "extensions": ["2002"]})
        st = self.status("loop", lambda p: p["state"] != "pending", since)
        self.assertEqual(st["state"], "error")
        self.assertIn("redirect", st["error"].lower())
        # too many hops for SOURCE_MAX_REDIRECTS=3
        since = time.time()
        self.ok("update", {"id": "hops", "url": self.feeds.url("/hop/5")})
        st = self.status("hops", lambda p: p["state"] == "error", since)
        self.assertIn("redirect", st["error"].lower())

    def test_05_basic_auth_and_its_refusal(self):
        s = self.stack
        since = time.time()
        data = self.ok("add", {"id": "private", "kind": "url",
                               "url": self.feeds.url("/private/cal.ics"),
                               "username": USER, "password": PASSWORD, "extension": "2003"})
        self.assertEqual(data["username"], USER)
        self.assertTrue(data["password_set"])
        self.assertNotIn("password", data)
        self.status("private", lambda p: p["state"] == "ok", since)
        s.bus.wait("ext/main/2003/schedule", lambda p: len(p["slots"]) == 1, since=since)
        since = time.time()
        self.ok("update", {"id": "private", "password": "wrong-password"})
        st = self.status("private", lambda p: p["state"] == "error", since)
        self.assertIn("HTTP 401: the server refused the credentials", st["error"])
        # credentials in the URL itself are taken apart and hidden too
        since = time.time()
        data = self.ok("update", {"id": "private", "username": None, "password": None,
                                  "url": f"http://{USER}:{PASSWORD}@127.0.0.1:{self.feeds.port}/private/cal.ics"})
        self.assertEqual(data["url"], self.feeds.url("/private/cal.ics"))
        self.assertEqual(data["username"], USER)
        st = self.status("private", lambda p: p["state"] == "ok" and not p["fetching"], since)
        self.assertEqual(st["http_status"], 200)

    def test_06_uploaded_ics_and_its_refusals(self):
        s = self.stack
        since = time.time()
        cal = ics(("u1", at(10, day=2), at(11, day=2), "Formation sécurité", []))
        data = self.ok("add", {"id": "upload", "kind": "ics", "content": cal.decode(),
                               "extension": "2004", "priority": 5})
        self.assertEqual(data["state"], "ok")
        self.assertEqual(data["horizon_slots"], 1)
        sched = s.bus.wait("ext/main/2004/schedule", lambda p: len(p["slots"]) == 1, since=since)
        self.assertEqual(sched["slots"][0]["status"], "business_trip")
        self.assertEqual(sched["slots"][0]["priority"], 5)
        r = self.refused("update", {"id": "upload", "content": "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n"},
                         "calendar refused:")
        self.assertIn("the previous one stays", r["error"])
        self.refused("add", {"id": "upload2", "kind": "ics", "content": "hello", "extension": "2004"},
                     "not an iCalendar file")
        self.refused("add", {"id": "upload3", "kind": "ics", "extension": "2004",
                             "content": "BEGIN:VCALENDAR\r\n" + "X:" + "y" * 100001},
                     "more than the 100000 allowed (SOURCE_MAX_BYTES)")
        listed = self.ok("list", {})
        self.assertNotIn("upload2", [x["id"] for x in listed["sources"]])
        # Events the reader skips or bends are counted on the status.
        lenient = ics(("w1", at(9), at(10), "Cours", []),
                      ("w2", at(11), at(12), "Cours", ["RRULE:FREQ=SOMETIMES"])).decode()
        data = self.ok("add", {"id": "lenient", "kind": "ics", "content": lenient,
                               "extension": "2008"})
        self.assertEqual(data["horizon_slots"], 1)
        self.assertEqual(data["warnings"], 1)
        # (the wording is the reader's; the line and the culprit are there)
        self.assertRegex(data["first_warning"], r"^line \d+: .*FREQ=SOMETIMES")
        self.ok("remove", {"id": "lenient"})
        # The source's own rules, tried before the global ones.
        since = time.time()
        data = self.ok("update", {"id": "upload", "rules": [
            {"match": "summary", "keyword": "formation", "status": "off_work"}]})
        sched = s.bus.wait("ext/main/2004/schedule",
                           lambda p: p["slots"] and p["slots"][0]["status"] == "off_work", since=since)
        self.refused("update", {"id": "upload", "rules": [{"match": "title", "keyword": "x",
                                                            "status": "away"}]},
                     "field 'rules': rule 1: 'match': unknown field 'title'")
        self.refused("update", {"id": "upload", "default_status": "nap"},
                     "default status: unknown status 'nap'")

    def test_07_manual_slots(self):
        s = self.stack
        since = time.time()
        self.ok("add", {"id": "desk", "kind": "manual", "extension": "2005", "slots": [
            {"start": "2026-03-30T12:00:00+02:00", "end": "2026-03-30T13:30:00+02:00",
             "status": "déjeuner", "summary": "Lunch with the team"}]})
        sched = s.bus.wait("ext/main/2005/schedule", lambda p: len(p["slots"]) == 1, since=since)
        self.assertEqual(sched["slots"][0]["status"], "lunch")
        self.assertEqual(sched["slots"][0]["source"], "desk")
        self.refused("update", {"id": "desk", "slots": [
            {"start": "2026-03-30T12:00:00+02:00", "end": "2026-03-30T11:00:00+02:00",
             "status": "away"}]}, "slots[0]: 'end' must be after 'start'")
        self.refused("update", {"id": "desk", "slots": [
            {"start": "2026-03-30T12:00:00+02:00", "end": "2026-03-30T13:00:00+02:00",
             "status": "holiday"}]}, "slots[0]: unknown status 'holiday'")

    def test_08_bad_requests_name_the_problem_and_change_nothing(self):
        before = self.ok("list", {})["sources"]
        cases = [
            ({"kind": "ftp", "url": "x", "extension": "1"}, "unknown kind 'ftp'"),
            ({"url": "http://x/"}, "field 'kind' is required"),
            ({"kind": "url", "url": "ftp://host/cal.ics", "extension": "2000"},
             "must start with http://, https:// or webcal://"),
            ({"kind": "url", "url": "http://host/a b", "extension": "2000"}, "contains a space"),
            ({"kind": "url", "url": "http://host/cal.ics"}, "field 'extension' (or 'extensions') is required"),
            ({"kind": "url", "url": "http://host/cal.ics", "extension": "20/00"},
             "extension '20/00' must be 1-64 characters"),
            ({"kind": "url", "url": "http://host/cal.ics", "extension": "2000", "colour": "red"},
             "unknown field 'colour'"),
            ({"kind": "url", "url": "http://host/cal.ics", "extension": "2000", "slots": []},
             "field 'slots' does not apply to a source of kind url"),
            ({"kind": "url", "url": "http://host/cal.ics", "extension": "2000", "password": "x"},
             "field 'password' needs a 'username'"),
            ({"kind": "url", "url": "http://host/cal.ics", "extension": "2000", "refresh_minutes": 0},
             "'refresh_minutes' must be 1-1440"),
            ({"kind": "url", "url": "http://host/cal.ics", "extension": "2000", "priority": 5000},
             "'priority' must be -1000..1000"),
            ({"id": "alice", "kind": "manual", "extension": "2000", "slots": []},
             "source 'alice' already exists"),
            ({"id": "a/b", "kind": "manual", "extension": "2000", "slots": []},
             "field 'id' must be 1-64 characters"),
            # a quoted field name cut inside a character still gives valid UTF-8
            ({"kind": "manual", "extension": "2000", "slots": [], "é" * 30: 1},
             "unknown field 'éééééééééééééééééééé'"),
        ]
        for body, words in cases:
            with self.subTest(body=body):
                self.refused("add", body, words)
        self.refused("update", {"id": "nobody", "name": "x"}, "no source 'nobody'")
        self.refused("update", {"id": "alice", "kind": "ics"}, "the kind of a source cannot change")
        self.refused("remove", {"id": "nobody"}, "no source 'nobody'")
        self.refused("remove", {}, "field 'id'")
        self.refused("list", {"verbose": True}, "unknown field 'verbose'")
        r = self.stack.bus.request("ical-ingest", "source/add", {"kind": "url"})
        self.assertIn("transaction", r)
        self.assertEqual(self.ok("list", {})["sources"], before)

    def test_09_list_shows_no_secret_and_a_masked_token(self):
        listed = self.ok("list", {})
        alice = [x for x in listed["sources"] if x["id"] == "alice"][0]
        self.assertEqual(alice["url"], self.feeds.url("/feed/ical/?u=***"))
        self.assertEqual(len(listed["rules"]), 6)
        self.assertEqual(listed["default_status"], "do_not_disturb")
        # Google-style private path tokens are masked too.
        data = self.ok("add", {"id": "google", "kind": "url", "extension": "2009", "url":
                               self.feeds.url("/calendar/ical/abc%40group.calendar.google.com"
                                              "/private-0a1b2c3d4e5f/basic.ics")})
        self.assertEqual(data["url"], self.feeds.url("/calendar/ical/***/***/basic.ics"))
        self.ok("remove", {"id": "google"})

    def test_09b_sources_merge_and_identical_occurrences_count_once(self):
        s = self.stack
        cal = ics(("same", at(10), at(11), "Cours", []))
        since = time.time()
        self.ok("add", {"id": "copy1", "kind": "ics", "content": cal.decode(), "extension": "2006"})
        self.ok("add", {"id": "copy2", "kind": "ics", "content": cal.decode(), "extension": "2006",
                        "priority": 3})
        self.ok("add", {"id": "week", "kind": "weekly", "format": "csv", "name": "Weekly template",
                        "content": "extension,day,start_time,end_time,status\n"
                                   "2006,lundi,13:00,14:00,lunch\n"})
        sched = s.bus.wait("ext/main/2006/schedule", lambda p: len(p["slots"]) == 3
                           and {x["source"] for x in p["slots"]} == {"copy2", "week"}, since=since)
        # The same occurrence from two calendars is one slot (the higher
        # priority kept); the weekly template's Mondays come with it.
        self.assertEqual([(x["start"], x["status"], x["priority"]) for x in sched["slots"][:2]], [
            ("2026-03-30T10:00:00+02:00", "business_trip", 3),
            ("2026-03-30T13:00:00+02:00", "lunch", 0)])
        week = [x for x in self.ok("list", {"id": "week"})["sources"]][0]
        self.assertEqual((week["kind"], week["name"], week["extensions"]),
                         ("weekly", "Weekly template", ["2006"]))
        r = self.refused("update", {"id": "week", "content": "extension,day\n2006,lundy\n"},
                         "planning refused")
        self.assertTrue(r["details"])
        self.refused("add", {"id": "week2", "kind": "weekly", "format": "xml", "content": "x"},
                     "field 'format' must be csv or json")
        # An import into a calendar source's id is refused.
        r = s.bus.request("ical-ingest", "import", {"format": "csv", "source": "copy1",
                                                     "content": "extension,day,start_time,end_time\n"
                                                                "2006,lundi,08:00,09:00\n"})
        self.assertEqual(r["status"], "error")
        self.assertIn("source 'copy1' is a ics source", r["details"][0]["error"])
        since = time.time()
        for sid in ("copy1", "copy2", "week"):
            self.ok("remove", {"id": sid})
        s.bus.wait("ext/main/2006/schedule", lambda p: p["slots"] == [], since=since)

    def test_09c_invalid_global_rules_stop_the_service_with_the_reason(self):
        s = self.stack
        r = subprocess.run([s.binary("ical-ingest"), "--check-config"], env=dict(
            s.env, MAPPING_RULES='[{"match":"summary","regex":"(","status":"away"}]'),
            capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("configuration error: MAPPING_RULES: rule 1: regex '(':", r.stderr)
        r = subprocess.run([s.binary("ical-ingest"), "--check-config"], env=dict(
            s.env, MAPPING_DEFAULT_STATUS="nap"), capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 2)
        self.assertIn("MAPPING_DEFAULT_STATUS: default status: unknown status 'nap'", r.stderr)
        r = subprocess.run([s.binary("ical-ingest"), "--check-config"], env=dict(
            s.env, MAPPING_RULES='[{"match":"location","keyword":"visio","status":"ignore"}]',
            MAPPING_DEFAULT_STATUS="ignore"), capture_output=True, text=True, timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_10_restart_reloads_sources_and_remove_empties_schedules(self):
        s = self.stack
        s.procs["ical-ingest"].stop()
        since = time.time()
        s.start("ical-ingest")
        sched = s.bus.wait("ext/main/2000/schedule", lambda p: len(p["slots"]) == 1, since=since)
        self.assertEqual(sched["slots"][0]["source"], "alice")
        st = self.status("alice", lambda p: p["state"] == "ok", since)
        self.assertEqual(st["url"], self.feeds.url("/feed/ical/?u=***"))
        # After the restart the token is read back from the sealed store.
        st = self.refresh("alice")
        self.assertEqual(st["http_status"], 304)
        since = time.time()
        self.assertEqual(self.ok("remove", {"id": "alice"}), {"id": "alice"})
        s.bus.wait("ext/main/2000/schedule", lambda p: p["slots"] == [], since=since)
        s.bus.wait("svc/ical-ingest/source/alice/status", lambda p: p == "", since=since)
        s.bus.wait("events/source", lambda p: p["id"] == "alice" and p["action"] == "removed",
                   since=since)


class HorizonMoves(unittest.TestCase):
    """At local midnight the horizon moves a day: the stored calendar is
    read again for the new window, without downloading it."""

    MIDNIGHT = MONDAY - 7 * 3600  # Monday 30 March 2026, 00:00 in Paris

    @classmethod
    def setUpClass(cls):
        cls.feeds = FeedServer()
        cls.feeds.body["feed"] = ics(
            ("today", at(8), at(9), "Cours", []),
            ("later", at(8, day=1), at(9, day=1), "Formation", []))
        cls.stack = Stack("50_sources_horizon", fake_time=cls.MIDNIGHT - 12, sim=False,
                          env={"SCHEDULE_HORIZON_DAYS": "1"}).start("ical-ingest")

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.stop()
        cls.feeds.close()
        assert cls.stack.sanitizer_reports() == [], cls.stack.sanitizer_reports()
        assert codes == {"ical-ingest": 0}, codes

    def test_the_stored_calendar_follows_the_horizon(self):
        s = self.stack
        since = time.time()
        r = s.bus.request("ical-ingest", "source/add", {
            "id": "moving", "kind": "url", "url": self.feeds.url(f"/feed/ical/?u={TOKEN}"),
            "extension": "2000"})
        self.assertEqual(r["status"], "ok", r)
        # Sunday: the horizon is Sunday alone, nothing in it.
        sched = s.bus.wait("ext/main/2000/schedule",
                           lambda p: p["horizon"]["start"] == "2026-03-29T00:00:00+01:00", since=since)
        self.assertEqual(sched["slots"], [])
        s.bus.wait("svc/ical-ingest/source/moving/status",
                   lambda p: isinstance(p, dict) and p["state"] == "ok", since=since)
        downloads = len(self.feeds.seen("/feed/ical/"))
        self.assertEqual(downloads, 1)
        # Past midnight: Monday's class, read from the stored calendar.
        sched = s.bus.wait("ext/main/2000/schedule",
                           lambda p: p["horizon"]["start"] == "2026-03-30T00:00:00+02:00", timeout=40)
        self.assertEqual([(x["start"], x["summary"]) for x in sched["slots"]],
                         [("2026-03-30T08:00:00+02:00", "Cours")])
        self.assertEqual(len(self.feeds.seen("/feed/ical/")), downloads)
        st = s.bus.wait("svc/ical-ingest/source/moving/status",
                        lambda p: isinstance(p, dict) and p["horizon_slots"] == 1)
        self.assertEqual(st["state"], "ok")


class EndToEnd(unittest.TestCase):
    """The issue's "done when": a calendar URL added through the request
    topic shows up as slots on R/ext/<site>/<ext>/schedule and drives the
    PBX simulator at the slot's first second."""

    BOUNDARY = at(8)

    @classmethod
    def setUpClass(cls):
        cls.feeds = FeedServer()
        cls.feeds.body["feed"] = ics(
            ("e2e-1", cls.BOUNDARY, cls.BOUNDARY + 3600, "Cours 6e2", []),
            ("e2e-2", cls.BOUNDARY + 3600, cls.BOUNDARY + 7200, "Réunion", []))
        cls.stack = Stack("50_sources_e2e", fake_time=cls.BOUNDARY - 10,
                          sim_args=["--extensions", "3"]).start(
                              "ical-ingest", "scheduler", "yeastar-gateway")

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.stop()
        cls.feeds.close()
        assert cls.stack.sanitizer_reports() == [], cls.stack.sanitizer_reports()
        assert all(c == 0 for c in codes.values()), codes

    def test_calendar_url_drives_the_pbx(self):
        s = self.stack
        since = time.time()
        r = s.bus.request("ical-ingest", "source/add", {
            "id": "teacher", "kind": "url", "url": self.feeds.url(f"/feed/ical/?u={TOKEN}"),
            "extension": "2000"})
        self.assertEqual(r["status"], "ok", r)
        sched = s.bus.wait("ext/main/2000/schedule", lambda p: len(p["slots"]) == 2, since=since)
        self.assertEqual([(x["start"], x["status"], x["source"]) for x in sched["slots"]], [
            ("2026-03-30T08:00:00+02:00", "business_trip", "teacher"),
            ("2026-03-30T09:00:00+02:00", "do_not_disturb", "teacher")])
        s.bus.wait("ext/main/2000/desired", lambda p: p["cause"] == "default" and
                   (p["next_change"] or {}).get("at") == "2026-03-30T08:00:00+02:00")
        update = s.wait_sim_update(1, "business_trip", timeout=30)
        self.assertGreaterEqual(parse_time(update["time"]), s.real_time_of(self.BOUNDARY) - 0.05,
                                "the status reached the PBX before the class began")
        desired = s.bus.wait("ext/main/2000/desired", lambda p: p["status"] == "business_trip")
        self.assertEqual(desired["cause"], "schedule")
        self.assertEqual(desired["slot"]["source"], "teacher")
        self.assertEqual(desired["slot"]["summary"], "Cours 6e2")
        self.assertEqual(desired["next_change"],
                         {"at": "2026-03-30T09:00:00+02:00", "status": "do_not_disturb"})


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""web-api on a real network (docs/security.md): what comes from the bus or the
outside is bounded and checked. A 25 MB bus event is kept and streamed as a
small "too large" record; GET /api/logs answers at most a few MiB and says
when it stopped early (truncated, next_before); a replayed PBX webhook is
not relayed twice; API tokens can expire and die with an admin's password
reset or --reset-admin; weak passwords are refused (also in
WEB_ADMIN_PASSWORD); R/svc/<service>/availability takes only online,
offline or nothing."""
import base64
import hashlib
import hmac
import json
import os
import re
import sqlite3
import time
import unittest

from harness import Stack
from web_client import ADMIN_PASSWORD, EventStream, Web, admin_token, wait_for

SECRET = "0123456789abcdef0123456789abcdef"


def sign(body, secret=SECRET):
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class WebLimits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack("86_web_limits", sim=False,
                          env={"WEB_ADMIN_PASSWORD": ADMIN_PASSWORD,
                               "PBX_WEBHOOK_SECRETS": f"main={SECRET};lab={SECRET}x"}
                          ).start("web-api")
        cls.token = admin_token(cls.stack.web_port)
        cls.web = Web(cls.stack.web_port, token=cls.token)
        cls.admin = Web(cls.stack.web_port)
        assert cls.admin.login()[0] == 200

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.stop()
        assert cls.stack.sanitizer_reports() == [], cls.stack.sanitizer_reports()
        assert all(c == 0 for c in codes.values()), codes

    def db(self):
        return sqlite3.connect(os.path.join(self.stack.env["DATA_DIR"], "web-api.db"))

    def log(self):
        return self.stack.procs["web-api"].log()

    # ---- 1. bus events are capped; GET /api/logs is bounded ----

    def test_a_huge_event_is_kept_and_streamed_small(self):
        stream = EventStream(self.stack.web_port, self.token)
        try:
            huge = json.dumps({"kind": "flood", "site": "main", "ext": "2000",
                               "blob": "x" * (25 * 1024 * 1024)})
            self.stack.bus.publish("events/flood", huge)
            ev = next(e for e in stream.events(lambda e: e["event"] == "flood", timeout=60)
                      if e["event"] == "flood")
        finally:
            stream.close()
        self.assertLess(len(ev["data"]), 1000)
        self.assertEqual(json.loads(ev["data"]), {"kind": "flood", "too_large": True,
                                                  "size": len(huge), "topic": "events/flood"})
        status, body, _ = self.web.get("/api/logs?kind=flood", timeout=30)
        self.assertEqual(status, 200, body)
        self.assertEqual(body["total"], 1)
        entry = body["entries"][0]
        self.assertIn("too large", entry["message"])
        self.assertEqual(entry["data"]["size"], len(huge))
        self.assertLess(len(json.dumps(body)), 5000)
        db = self.db()
        size = db.execute("SELECT length(data) + length(message) FROM audit "
                          "WHERE kind = 'flood'").fetchone()[0]
        db.close()
        self.assertLess(size, 1000)
        self.assertIn("larger than WEB_EVENT_MAX_BYTES", self.log())
        self.assertEqual(self.web.get("/healthz")[0], 200)
        # Under the cap, an event is kept whole.
        self.stack.bus.publish("events/fine", json.dumps({"kind": "fine", "note": "y" * 8000}))
        wait_for(lambda: self.web.get("/api/logs?kind=fine")[1]["total"] == 1)
        self.assertEqual(len(self.web.get("/api/logs?kind=fine")[1]["entries"][0]["data"]["note"]),
                         8000)

    def test_logs_answer_is_bounded_with_a_cursor(self):
        # 400 entries of 20 KB each (8 MB), as a web-api without the cap
        # kept them: one answer stops at about 4 MiB and says where to go on.
        db = self.db()
        blob = json.dumps({"kind": "bulk", "pad": "z" * 20000})
        db.executemany("INSERT INTO audit(at, kind, message, data) VALUES (?, 'bulk', ?, ?)",
                       [(int(time.time()), f"bulk {i}", blob) for i in range(400)])
        db.commit()
        db.close()
        seen, before, answers = [], None, 0
        while True:
            query = "?kind=bulk&per_page=500" + (f"&before={before}" if before else "")
            status, body, _ = self.web.get("/api/logs" + query, timeout=30)
            self.assertEqual(status, 200, body)
            answers += 1
            self.assertEqual(body["total"], 400)
            self.assertLess(len(json.dumps(body)), 5 * 1024 * 1024)
            seen += [e["id"] for e in body["entries"]]
            if not body["truncated"]:
                break
            self.assertIsNotNone(body["next_before"])
            self.assertEqual(body["next_before"], body["entries"][-1]["id"])
            before = body["next_before"]
            self.assertLess(answers, 50)
        self.assertGreater(answers, 1)
        self.assertEqual(len(seen), 400)
        self.assertEqual(seen, sorted(set(seen), reverse=True))
        self.assertIn("truncated", self.log())
        status, body, _ = self.web.get("/api/logs?before=0")
        self.assertEqual(status, 400)
        self.assertIn("'before'", body["error"])

    # ---- 2. webhook replay ----

    def test_a_replayed_webhook_is_not_relayed_twice(self):
        body = b'{"type":30009,"sn":"S1","msg":{"extension":"2001","status":"away"}}'
        since = time.time()
        status, answer, _ = self.web.post("/api/pbx/webhook/main", body,
                                          headers={"X-Signature": sign(body)},
                                          content_type="application/json")
        self.assertEqual((status, answer["status"]), (200, "ok"))
        self.stack.bus.wait("site/main/pbx_event", since=since)
        status, answer, _ = self.web.post("/api/pbx/webhook/main", body,
                                          headers={"X-Signature": sign(body)},
                                          content_type="application/json")
        self.assertEqual((status, answer["status"]), (200, "duplicate"))
        # Another body, or the same for another site, goes through.
        other = body.replace(b"away", b"lunch")
        self.assertEqual(self.web.post("/api/pbx/webhook/main", other,
                                       headers={"X-Signature": sign(other)},
                                       content_type="application/json")[1]["status"], "ok")
        self.assertEqual(self.web.post("/api/pbx/webhook/lab", body,
                                       headers={"X-Signature": sign(body, SECRET + "x")},
                                       content_type="application/json")[1]["status"], "ok")
        wait_for(lambda: any(m[2] == other.decode() for m in self.stack.bus.messages
                             if m[1] == "site/main/pbx_event" and m[0] >= since))
        time.sleep(0.3)
        relayed = [m for m in self.stack.bus.messages
                   if m[1] == "site/main/pbx_event" and m[0] >= since and m[2] == body.decode()]
        self.assertEqual(len(relayed), 1)
        self.assertIn("the same body was relayed", self.log())

    # ---- 3. API tokens: expiry and revocation ----

    def test_tokens_expire(self):
        status, body, _ = self.admin.post("/api/tokens", {"name": "week", "expires_in_days": 7})
        self.assertEqual(status, 201, body)
        self.assertIsNotNone(body["expires_at"])
        tok = Web(self.stack.web_port, token=body["token"])
        self.assertEqual(tok.get("/api/session")[0], 200)
        listing = self.admin.get("/api/tokens")[1]["tokens"]
        mine = next(t for t in listing if t["id"] == body["id"])
        self.assertEqual((mine["expires_at"], mine["expired"]), (body["expires_at"], False))
        never = next(t for t in listing if t["name"] == "tests")
        self.assertIsNone(never["expires_at"])
        for bad, text in (({"expires_in_days": 0}, "'expires_in_days'"),
                          ({"expires_in_days": "7"}, "'expires_in_days'"),
                          ({"expires_at": "2001-01-01T00:00:00Z"}, "in the future"),
                          ({"expires_at": "soon"}, "'expires_at'"),
                          ({"expires_in_days": 1, "expires_at": "2099-01-01T00:00:00Z"},
                           "not both")):
            status, answer, _ = self.admin.post("/api/tokens", dict(bad, name="bad"))
            self.assertEqual(status, 400, answer)
            self.assertIn(text, answer["error"])
        # Its time comes (written in the database: the running web-api
        # reads tokens again when another process changed them).
        db = self.db()
        db.execute("UPDATE tokens SET expires_at = ? WHERE id = ?",
                   (int(time.time()) - 1, body["id"]))
        db.commit()
        db.close()
        status, answer, _ = tok.get("/api/session")
        self.assertEqual(status, 401, answer)
        self.assertIn("invalid or expired API token", answer["error"])
        mine = next(t for t in self.admin.get("/api/tokens")[1]["tokens"]
                    if t["id"] == body["id"])
        self.assertTrue(mine["expired"])
        self.assertEqual(self.web.get("/api/session")[0], 200)  # never expires

    def test_an_admin_reset_revokes_tokens_and_sessions(self):
        self.assertEqual(self.admin.post("/api/users", {"name": "desk", "password":
                                                        "front-desk-pw-1", "role": "readonly"})[0],
                         201)
        desk = Web(self.stack.web_port)
        self.assertEqual(desk.login("desk", "front-desk-pw-1")[0], 200)
        status, body, _ = desk.post("/api/tokens", {"name": "desk-script"})
        self.assertEqual(status, 201, body)
        tok = Web(self.stack.web_port, token=body["token"])
        # Changing one's own password keeps one's tokens and this session.
        status, answer, _ = desk.put("/api/users/desk/password",
                                     {"current_password": "front-desk-pw-1",
                                      "password": "front-desk-pw-2"})
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["tokens_revoked"], 0)
        self.assertEqual(tok.get("/api/session")[0], 200)
        self.assertEqual(desk.get("/api/session")[0], 200)
        # An admin's reset: the account may be in other hands.
        status, answer, _ = self.admin.put("/api/users/desk/password",
                                           {"password": "front-desk-pw-3"})
        self.assertEqual(status, 200, answer)
        self.assertEqual(answer["tokens_revoked"], 1)
        self.assertEqual(tok.get("/api/session")[0], 401)
        self.assertEqual(desk.get("/api/session")[0], 401)
        self.assertFalse(any(t["user"] == "desk" for t in self.admin.get("/api/tokens")[1]["tokens"]))
        logs = self.web.get("/api/logs?kind=user")[1]["entries"]
        self.assertEqual(logs[0]["message"], "reset a password")
        # Removing the user ends its tokens too.
        desk = Web(self.stack.web_port)
        self.assertEqual(desk.login("desk", "front-desk-pw-3")[0], 200)
        tok = Web(self.stack.web_port, token=desk.post("/api/tokens", {"name": "again"})[1]["token"])
        self.assertEqual(tok.get("/api/session")[0], 200)
        self.assertEqual(self.admin.delete("/api/users/desk")[0], 200)
        self.assertEqual(tok.get("/api/session")[0], 401)
        db = self.db()
        left = db.execute("SELECT COUNT(*) FROM tokens WHERE user = 'desk'").fetchone()[0]
        db.close()
        self.assertEqual(left, 0)

    # ---- 4. password policy ----

    def test_weak_passwords_are_refused(self):
        for name, pw, text in (("bob", "password", "most common passwords"),
                               ("bob", "Password2024!", "most common passwords"),
                               ("bob", "azertyuiop", "most common passwords"),
                               ("margaret", "Margaret", "the user name"),
                               ("robert", "Robert-2024", "built on the user name"),
                               ("bob", "short", "at least 8 characters")):
            status, answer, _ = self.admin.post("/api/users",
                                                {"name": name, "password": pw, "role": "readonly"})
            self.assertEqual(status, 400, (name, pw, answer))
            self.assertIn(text, answer["error"])
            self.assertIn("'password'", answer["error"])
        self.assertEqual(self.admin.post("/api/users", {"name": "carol", "password":
                                                        "blue-ducks-at-noon", "role": "readonly"})[0],
                         201)
        carol = Web(self.stack.web_port)
        self.assertEqual(carol.login("carol", "blue-ducks-at-noon")[0], 200)
        status, answer, _ = carol.put("/api/users/carol/password",
                                      {"current_password": "blue-ducks-at-noon",
                                       "password": "carol1234"})
        self.assertEqual(status, 400, answer)
        self.assertIn("built on the user name", answer["error"])
        status, answer, _ = self.admin.put("/api/users/carol/password", {"password": "12345678"})
        self.assertEqual(status, 400, answer)
        self.assertIn("most common passwords", answer["error"])
        self.assertEqual(Web(self.stack.web_port).login("carol", "blue-ducks-at-noon")[0], 200)

    # ---- 5. availability values ----

    def test_availability_takes_only_online_or_offline(self):
        def scheduler():
            return self.web.get("/healthz")[1]["services"]["scheduler"]
        self.stack.bus.publish("svc/scheduler/availability", "online", retain=True)
        wait_for(lambda: scheduler() == "online")
        self.stack.bus.publish("svc/scheduler/availability", "<script>pwned", retain=True)
        wait_for(lambda: "'online' or 'offline'" in self.log())
        self.assertEqual(scheduler(), "online")
        self.stack.bus.publish("svc/scheduler/availability", "offline", retain=True)
        wait_for(lambda: scheduler() == "offline")
        self.stack.bus.publish("svc/scheduler/availability", "", retain=True)
        wait_for(lambda: scheduler() == "unknown")

    # ---- last: --reset-admin (the admin's password changes) ----

    def test_zz_reset_admin_revokes_the_admin_tokens(self):
        self.assertEqual(self.web.get("/api/session")[0], 200)
        out = self.stack.run_cli("web-api", "--reset-admin")
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn("revoked its", out.stdout)
        new = re.search(r"new password: (\S+)", out.stdout).group(1)
        self.assertEqual(self.web.get("/api/session")[0], 401)
        self.assertEqual(self.admin.get("/api/session")[0], 401)
        fresh = Web(self.stack.web_port)
        self.assertEqual(fresh.login("admin", new)[0], 200)


class WeakAdminPassword(unittest.TestCase):
    def test_a_weak_admin_password_is_refused_at_start(self):
        for pw, text in (("password1234", "most common passwords"),
                         ("admin-admin", "built on the user name")):
            stack = Stack("86_web_weak_admin", sim=False, env={"WEB_ADMIN_PASSWORD": pw})
            try:
                out = stack.run_cli("web-api")
                self.assertNotEqual(out.returncode, 0)
                self.assertIn("WEB_ADMIN_PASSWORD", out.stderr)
                self.assertIn(text, out.stderr)
            finally:
                stack.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)

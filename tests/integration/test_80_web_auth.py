"""web-api authentication and authorization: the first-start admin account
(given or generated and printed once), Argon2id passwords, HttpOnly
SameSite session cookies with CSRF protection, API tokens, read-only and
admin roles on every route, rate-limited logins, sessions that survive a
restart, and `web-api --reset-admin`."""
import os
import re
import sqlite3
import subprocess
import threading
import time
import unittest

from harness import Stack
from web_client import ADMIN_PASSWORD, Web, fake_gateway, wait_for

# Every route with a method, and the least role it needs.
ROUTES = [
    ("GET", "/healthz", None), ("GET", "/", None), ("GET", "/assets/app.js", None),
    ("GET", "/metrics", "readonly"), ("GET", "/api/session", "readonly"),
    ("GET", "/api/extensions", "readonly"), ("GET", "/api/extensions/2000", "readonly"),
    ("GET", "/api/extensions/2000/week", "readonly"), ("GET", "/api/logs", "readonly"),
    ("GET", "/api/extensions/2000/settings", "readonly"),
    ("PUT", "/api/extensions/2000/settings", "admin"),
    ("GET", "/api/stats", "readonly"), ("GET", "/api/sources", "readonly"),
    ("GET", "/api/sites", "readonly"), ("GET", "/api/tokens", "readonly"),
    ("PUT", "/api/extensions/2000/override", "admin"),
    ("DELETE", "/api/extensions/2000/override", "admin"),
    ("PUT", "/api/extensions/2000/planning", "admin"),
    ("POST", "/api/sources", "admin"), ("POST", "/api/sources/import", "admin"),
    ("PATCH", "/api/sources/s1", "admin"), ("DELETE", "/api/sources/s1", "admin"),
    ("POST", "/api/sources/s1/refresh", "admin"), ("POST", "/api/sites", "admin"),
    ("PATCH", "/api/sites/main", "admin"), ("DELETE", "/api/sites/main", "admin"),
    ("POST", "/api/sites/main/test", "admin"), ("GET", "/api/users", "admin"),
    ("POST", "/api/users", "admin"), ("DELETE", "/api/users/nobody", "admin"),
]


class WebAuth(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack("80_web_auth", sim=False,
                          env={"WEB_ADMIN_PASSWORD": ADMIN_PASSWORD,
                               "WEB_LOGIN_MAX_FAILURES": "3",
                               "WEB_COMMAND_TIMEOUT_MS": "500"}).start("scheduler", "web-api")
        fake_gateway(cls.stack.bus)
        cls.admin = Web(cls.stack.web_port)
        assert cls.admin.login()[0] == 200
        wait_for(lambda: cls.admin.get("/api/extensions")[1]["count"] == 3)
        status, body, _ = cls.admin.post("/api/users", {"name": "reception", "password":
                                                        "front-desk-pw-1", "role": "readonly"})
        assert status == 201, body
        cls.reader = Web(cls.stack.web_port)
        assert cls.reader.login("reception", "front-desk-pw-1")[0] == 200

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.stop()
        assert cls.stack.sanitizer_reports() == [], cls.stack.sanitizer_reports()
        assert all(c == 0 for c in codes.values()), codes

    def test_every_route_by_role(self):
        anon = Web(self.stack.web_port)
        for method, path, role in ROUTES:
            with self.subTest(method=method, path=path):
                body = {} if method in ("POST", "PUT", "PATCH") else None
                status, answer, _ = anon.request(method, path, body)
                if role is None:
                    self.assertLess(status, 400, answer)
                    continue
                self.assertEqual(status, 401, answer)
                self.assertIn("authentication required", answer["error"])
                status, answer, _ = self.reader.request(method, path, body)
                if role == "admin":
                    self.assertEqual(status, 403, answer)
                    self.assertIn("needs the admin role", answer["error"])
                else:
                    self.assertNotIn(status, (401, 403), answer)
                status, answer, _ = self.admin.request(method, path, body)
                self.assertNotIn(status, (401, 403), answer)

    def test_cookie_is_httponly_samesite_and_password_is_argon2id(self):
        web = Web(self.stack.web_port)
        status, body, headers = web.login()
        cookie = headers["Set-Cookie"]
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Strict", cookie)
        self.assertIn("Path=/", cookie)
        self.assertEqual(body["role"], "admin")
        db = sqlite3.connect(os.path.join(self.stack.env["DATA_DIR"], "web-api.db"))
        hashes = [r[0] for r in db.execute("SELECT pwhash FROM users")]
        sessions = [r[0] for r in db.execute("SELECT hash FROM sessions")]
        db.close()
        self.assertTrue(all(h.startswith("$argon2id$") for h in hashes), hashes)
        self.assertNotIn(ADMIN_PASSWORD, " ".join(hashes))
        value = cookie.split(";")[0].split("=", 1)[1]
        self.assertNotIn(value, sessions)  # only its SHA-256 is stored

    def test_csrf_is_required_with_a_cookie(self):
        status, body, _ = self.admin.put("/api/extensions/2000/planning", {"enabled": True},
                                         csrf=False)
        self.assertEqual(status, 403)
        self.assertIn("X-CSRF-Token", body["error"])
        status, body, _ = self.admin.put("/api/extensions/2000/planning", {"enabled": True},
                                         headers={"X-CSRF-Token": "forged"})
        self.assertEqual(status, 403)
        # A cross-site form cannot send JSON: a form body is refused too.
        status, body, _ = self.admin.put("/api/extensions/2000/override", "status=away",
                                         content_type="application/x-www-form-urlencoded")
        self.assertEqual(status, 415)
        status, body, _ = self.admin.get("/api/session")
        self.assertEqual(body["csrf_token"], self.admin.csrf)

    def test_api_tokens(self):
        status, body, _ = self.reader.post("/api/tokens", {"name": "script", "role": "admin"})
        self.assertEqual(status, 403)  # no more than its own role
        status, body, _ = self.reader.post("/api/tokens", {"name": "script"})
        self.assertEqual(status, 201)
        self.assertTrue(body["token"].startswith("pbt_"))
        self.assertEqual(body["role"], "readonly")
        tok = Web(self.stack.web_port, token=body["token"])
        status, _, _ = tok.get("/api/extensions")
        self.assertEqual(status, 200)
        status, _, _ = tok.put("/api/extensions/2000/planning", {"enabled": False})
        self.assertEqual(status, 403)
        # A token needs no CSRF header: it is not sent by browsers on their own.
        status, body2, _ = self.admin.post("/api/tokens", {"name": "admin-script"})
        admin_tok = Web(self.stack.web_port, token=body2["token"])
        status, answer, _ = admin_tok.put("/api/extensions/2000/planning", {"enabled": True})
        self.assertNotIn(status, (401, 403), answer)
        status, listing, _ = self.reader.get("/api/tokens")
        self.assertEqual([t["name"] for t in listing["tokens"]], ["script"])
        self.assertNotIn("token", listing["tokens"][0])
        status, _, _ = self.reader.delete(f"/api/tokens/{body2['id']}")
        self.assertEqual(status, 404)  # not its own
        status, _, _ = self.reader.delete(f"/api/tokens/{body['id']}")
        self.assertEqual(status, 200)
        status, body, _ = tok.get("/api/extensions")
        self.assertEqual(status, 401)
        self.assertIn("invalid or expired API token", body["error"])
        status, _, _ = Web(self.stack.web_port, token="pbt_forged").get("/api/extensions")
        self.assertEqual(status, 401)

    def test_users_and_passwords(self):
        cases = [({"name": "x", "password": "short", "role": "admin"}, 400, "at least 8 characters"),
                 ({"name": "a b", "password": "long-enough", "role": "admin"}, 400, "'name'"),
                 ({"name": "x", "password": "long-enough", "role": "root"}, 400, "unknown role"),
                 ({"name": "x", "password": 12345678, "role": "admin"}, 400, "must be a string"),
                 ({"name": "reception", "password": "long-enough", "role": "admin"}, 409,
                  "already exists")]
        for body, code, text in cases:
            status, answer, _ = self.admin.post("/api/users", body)
            self.assertEqual(status, code, answer)
            self.assertIn(text, answer["error"])
        self.admin.post("/api/users", {"name": "temp", "password": "first-day-pw-1", "role": "admin"})
        temp = Web(self.stack.web_port)
        self.assertEqual(temp.login("temp", "first-day-pw-1")[0], 200)
        status, body, _ = temp.put("/api/users/temp/password",
                                   {"current_password": "wrong", "password": "new-pw-1234"})
        self.assertEqual(status, 403)
        status, body, _ = temp.put("/api/users/temp/password",
                                   {"current_password": "first-day-pw-1", "password": "new-pw-1234"})
        self.assertEqual(status, 200, body)
        self.assertEqual(temp.get("/api/session")[0], 200)  # this session stays
        self.assertEqual(Web(self.stack.web_port).login("temp", "first-day-pw-1")[0], 401)
        self.assertEqual(Web(self.stack.web_port).login("temp", "new-pw-1234")[0], 200)
        status, body, _ = self.reader.put("/api/users/temp/password", {"password": "x" * 10})
        self.assertEqual(status, 403)
        status, body, _ = self.admin.delete("/api/users/admin")
        self.assertEqual(status, 409)
        status, body, _ = self.admin.delete("/api/users/temp")
        self.assertEqual(status, 200)
        self.assertEqual(temp.get("/api/session")[0], 401)  # its sessions ended
        status, body, _ = self.admin.delete("/api/users/temp")
        self.assertEqual(status, 404)

    def test_login_mistakes_and_rate_limit(self):
        web = Web(self.stack.web_port)
        status, body, _ = web.post("/api/login", b"{not json", content_type="application/json")
        self.assertEqual(status, 400)
        self.assertIn("invalid JSON", body["error"])
        status, body, _ = web.post("/api/login", {"username": "admin"})
        self.assertEqual(status, 400)
        self.assertIn("'password' is required", body["error"])
        for _ in range(3):
            status, body, _ = web.login("victim", "wrong-password")
            self.assertEqual(status, 401)
            self.assertEqual(body["error"], "wrong user name or password")
        status, body, headers = web.login("victim", "wrong-password")
        self.assertEqual(status, 429)
        self.assertIn("too many failed logins", body["error"])
        self.assertGreater(int(headers["Retry-After"]), 0)
        # Another user from the same address is not locked out.
        self.assertEqual(Web(self.stack.web_port).login()[0], 200)
        status, logs, _ = self.admin.get("/api/logs?kind=login_failed")
        self.assertGreaterEqual(logs["total"], 3)

    def test_concurrent_logins_are_limited_and_do_not_stall_web_api(self):
        # Ten wrong passwords for one user at once: each attempt counts as a
        # failure from the moment it is taken, so with WEB_LOGIN_MAX_FAILURES
        # = 3 exactly three are checked (401) and the others refused (429),
        # however the checks and the answers interleave.
        results = []

        def attempt(user, password):
            results.append(Web(self.stack.web_port).login(user, password)[0])

        threads = [threading.Thread(target=attempt, args=("mallory", "guess-%d" % i))
                   for i in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(sorted(results), [401] * 3 + [429] * 7)
        # While password checks run (on web-api's worker thread, one after
        # the other), the loop answers everything else: a health check sent
        # after twelve logins is answered before the last login is.
        done = []

        def login(i):
            status = Web(self.stack.web_port).login("user%d" % i, "not-the-password")[0]
            done.append(("login", status))

        threads = [threading.Thread(target=login, args=(i,)) for i in range(12)]
        for t in threads:
            t.start()
        wait_for(lambda: self.metric("presencebus_password_checks_waiting") >= 2, 10,
                 "password checks waiting")
        status, _, _ = Web(self.stack.web_port).get("/healthz")
        done.append(("healthz", status))
        for t in threads:
            t.join()
        self.assertIn(("healthz", 200), done)
        self.assertLess(done.index(("healthz", 200)), len(done) - 1, done)
        self.assertEqual(sorted(s for k, s in done if k == "login"), [401] * 12)

    def metric(self, name):
        status, text, _ = self.admin.get("/metrics")
        found = re.search(r"^%s (\d+)" % name, text, re.M)
        return int(found.group(1)) if found else -1

    def test_logout(self):
        web = Web(self.stack.web_port)
        web.login()
        status, _, headers = web.post("/api/logout", {})
        self.assertEqual(status, 200)
        self.assertIn("Max-Age=0", headers["Set-Cookie"])
        self.assertEqual(web.get("/api/session")[0], 401)

    def test_zz_sessions_survive_a_restart(self):
        web = Web(self.stack.web_port)
        web.login()
        proc = self.stack.procs["web-api"]
        self.assertEqual(proc.stop(), 0)
        self.stack.start("web-api")
        wait_for(lambda: web.get("/api/session")[0] == 200, what="session after restart")
        self.assertEqual(web.get("/api/session")[1]["user"], "admin")


class FirstStart(unittest.TestCase):
    def test_generated_password_printed_once_and_reset(self):
        # An empty WEB_ADMIN_PASSWORD: web-api makes one up.
        stack = Stack("80_web_first_start", sim=False, env={"WEB_ADMIN_PASSWORD": ""})
        try:
            stack.start("web-api")
            log = stack.procs["web-api"].log()
            found = re.search(r"generated password: (\S+)", log)
            self.assertIsNotNone(found, log)
            password = found.group(1)
            self.assertGreaterEqual(len(password), 16)
            web = Web(stack.web_port)
            self.assertEqual(web.login("admin", password)[0], 200)
            stack.procs["web-api"].stop()
            stack.start("web-api")
            # Printed once: a second start shows no password.
            self.assertEqual(len(re.findall(r"generated password", stack.procs["web-api"].log())), 1)
            web = Web(stack.web_port)
            self.assertEqual(web.login("admin", password)[0], 200)
            out = stack.run_cli("web-api", "--reset-admin")
            self.assertEqual(out.returncode, 0, out.stderr)
            new = re.search(r"new password: (\S+)", out.stdout).group(1)
            # The running web-api ends the old sessions at once.
            self.assertEqual(web.get("/api/session")[0], 401)
            self.assertEqual(Web(stack.web_port).login("admin", new)[0], 200)
            self.assertEqual(Web(stack.web_port).login("admin", password)[0], 401)
        finally:
            codes = stack.stop()
        self.assertEqual(stack.sanitizer_reports(), [])
        self.assertTrue(all(c == 0 for c in codes.values()), codes)

    def test_short_admin_password_is_refused(self):
        stack = Stack("80_web_short_pw", sim=False, env={"WEB_ADMIN_PASSWORD": "short"})
        try:
            out = stack.run_cli("web-api")
            self.assertNotEqual(out.returncode, 0)
            self.assertIn("WEB_ADMIN_PASSWORD must be at least 8 characters", out.stderr)
        finally:
            stack.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)

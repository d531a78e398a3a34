"""web-api cannot be starved without logging in (docs/security.md): a thousand
trickling connections from many addresses leave /healthz and logged-in
users served; a request head and body have deadlines a trickle cannot
extend; an anonymous request is refused from its head, before its body is
read; the login limiter cannot be flushed by made-up names, counts per
address and per account, believes X-Forwarded-For only from a trusted proxy
and does not count refused attempts; one user cannot take every
event-stream slot."""
import http.client
import json
import socket
import threading
import time
import unittest

from harness import Stack
from web_client import ADMIN_PASSWORD, EventStream, Web, admin_token, wait_for

PROXY = "127.0.0.9"


def connect(port, source=None, timeout=10):
    return socket.create_connection(("127.0.0.1", port), timeout=timeout,
                                    source_address=(source, 0) if source else None)


def closed_by_server(sock, timeout):
    """True once the server has closed `sock` (it keeps sending one byte
    every 0.3 s meanwhile, like a trickle), False if still open at the end."""
    deadline = time.time() + timeout
    sock.settimeout(0.3)
    while time.time() < deadline:
        try:
            if sock.recv(4096) == b"":
                return True
        except socket.timeout:
            pass
        except OSError:
            return True
        try:
            sock.send(b"a")
        except OSError:
            return True
    return False


class Trickler(threading.Thread):
    """`count` connections spread over `addresses`, each sending one byte
    of an endless request head per round and reopened when the server
    closes it, as an attacker would."""

    def __init__(self, port, addresses, count, interval):
        super().__init__(daemon=True)
        self.port, self.addresses, self.count, self.interval = port, addresses, count, interval
        self.stop = threading.Event()
        self.rounds = 0
        self.opened = 0
        self.lost = 0

    def _open(self, i):
        try:
            s = connect(self.port, self.addresses[i % len(self.addresses)], timeout=2)
            s.setblocking(False)
            s.send(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
            self.opened += 1
            return s
        except OSError:
            return None

    def run(self):
        socks = [None] * self.count
        while not self.stop.is_set():
            for i in range(self.count):
                if socks[i] is None:
                    socks[i] = self._open(i)
            self.rounds += 1
            self.stop.wait(self.interval)
            for i, s in enumerate(socks):
                if s is None:
                    continue
                try:
                    if s.recv(4096) == b"":
                        raise ConnectionError
                except BlockingIOError:
                    pass
                except OSError:
                    s.close()
                    socks[i] = None
                    self.lost += 1
                    continue
                try:
                    s.send(b"a")
                except OSError:
                    s.close()
                    socks[i] = None
                    self.lost += 1
        for s in socks:
            if s is not None:
                s.close()


class WebAbuse(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack("85_web_abuse", sim=False, env={
            "WEB_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "WEB_LOGIN_MAX_FAILURES": "3",
            "WEB_LOGIN_MAX_FAILURES_PER_ADDRESS": "10",
            "WEB_LOGIN_MAX_FAILURES_PER_ACCOUNT": "30",
            "WEB_TRUSTED_PROXIES": f"{PROXY}, 10.1.0.0/16",
            "WEB_SSE_MAX_PER_USER": "3",
            "WEB_HEADER_TIMEOUT_SECONDS": "3",
            "WEB_BODY_TIMEOUT_SECONDS": "3",
        }).start("web-api")
        port = cls.stack.web_port
        cls.token = admin_token(port, name="abuse-tests")
        admin = Web(port, token=cls.token)
        for name in ("reader", "burst"):
            status, body, _ = admin.post("/api/users", {"name": name, "password":
                                                        f"{name}-password-1",
                                                        "role": "readonly"})
            assert status == 201, body
        reader = Web(port)
        assert reader.login("reader", "reader-password-1")[0] == 200
        status, body, _ = reader.post("/api/tokens", {"name": "streams"})
        assert status == 201, body
        cls.reader_token = body["token"]

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.stop()
        assert cls.stack.sanitizer_reports() == [], cls.stack.sanitizer_reports()
        assert all(c == 0 for c in codes.values()), codes

    def log(self):
        return self.stack.procs["web-api"].log()

    def closed_by_limits(self, reason):
        status, text, _ = Web(self.stack.web_port, token=self.token).get("/metrics")
        self.assertEqual(status, 200)
        name = f'presencebus_http_connections_closed_total{{reason="{reason}"}} '
        return int(next(l for l in text.splitlines() if l.startswith(name)).split()[-1])

    def raw(self, head, source=None, timeout=10):
        """Sends a request head alone and returns the status line and
        whatever came before the server closed or went quiet."""
        s = connect(self.stack.web_port, source, timeout)
        try:
            s.sendall(head.encode())
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
            return data.decode("utf-8", "replace")
        finally:
            s.close()

    # ---- finding 2: refused from the head, before any body ----

    def test_anonymous_body_is_refused_before_it_is_sent(self):
        # A megabyte announced, not one byte of it sent: the answer comes
        # from the head (before, web-api waited for the body to buffer it).
        answer = self.raw("POST /api/sources HTTP/1.1\r\nHost: x\r\n"
                          "Content-Type: application/json\r\n"
                          "Content-Length: 1000000\r\n\r\n")
        self.assertTrue(answer.startswith("HTTP/1.1 401"), answer)
        # A read-only token on an admin route: 403, likewise.
        answer = self.raw("PUT /api/extensions/2000/override HTTP/1.1\r\nHost: x\r\n"
                          f"Authorization: Bearer {self.reader_token}\r\n"
                          "Content-Type: application/json\r\n"
                          "Content-Length: 500000\r\n\r\n")
        self.assertTrue(answer.startswith("HTTP/1.1 403"), answer)
        # More than WEB_MAX_BODY_BYTES announced by a client that waits
        # for "100 Continue": 413 at once.
        answer = self.raw("POST /api/sources HTTP/1.1\r\nHost: x\r\n"
                          f"Authorization: Bearer {self.token}\r\n"
                          "Content-Type: application/json\r\nExpect: 100-continue\r\n"
                          "Content-Length: 50000000\r\n\r\n")
        self.assertTrue(answer.startswith("HTTP/1.1 413"), answer)
        # A small refused body is read (not kept) before the answer, so that
        # a client writing its whole request first still reads the 401.
        status, body, _ = Web(self.stack.web_port).post("/api/sources", {"url": "x" * 30000})
        self.assertEqual(status, 401, body)
        # The public login route still reads its body.
        status, _, _ = Web(self.stack.web_port).login("reader", "reader-password-1")
        self.assertEqual(status, 200)

    # ---- finding 1: deadlines a trickle cannot extend ----

    def test_a_trickled_head_or_body_is_cut_at_its_deadline(self):
        s = connect(self.stack.web_port, "127.0.0.60")
        s.sendall(b"GET /healthz HTTP/1.1\r\nX-Slow: ")
        # One byte every 0.3 s restarts libmicrohttpd's own 60 s timeout;
        # WEB_HEADER_TIMEOUT_SECONDS=3 does not restart.
        self.assertTrue(closed_by_server(s, 20), "a trickled head was never cut")
        s.close()
        s = connect(self.stack.web_port, "127.0.0.60")
        s.sendall(b"POST /api/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                  b"Content-Length: 100000\r\n\r\n{")
        self.assertTrue(closed_by_server(s, 20), "a trickled body was never cut")
        s.close()
        self.assertGreaterEqual(self.closed_by_limits("deadline"), 2)
        wait_for(lambda: "WEB_HEADER_TIMEOUT_SECONDS" in self.log(), 5, "head deadline logged")
        wait_for(lambda: "WEB_BODY_TIMEOUT_SECONDS" in self.log(), 5, "body deadline logged")
        # A client that sends its request at once is not affected.
        self.assertEqual(Web(self.stack.web_port).get("/healthz")[0], 200)

    # ---- finding 1: a thousand trickling connections ----

    def test_a_thousand_trickling_connections_do_not_starve_anyone(self):
        port = self.stack.web_port
        # 20 addresses, 50 connections each: more than
        # WEB_MAX_ANONYMOUS_PER_ADDRESS (32) from each, more than
        # WEB_MAX_ANONYMOUS_CONNECTIONS (250) in all.
        addresses = [f"127.0.0.{i}" for i in range(20, 40)]
        attack = Trickler(port, addresses, 1000, 1.0)
        attack.start()
        try:
            wait_for(lambda: attack.rounds >= 2, 60, "the attack's first rounds")
            user = Web(port, token=self.token)
            for _ in range(5):
                status, body, _ = Web(port).get("/healthz")
                self.assertEqual(status, 200, body)
                status, body, _ = user.get("/api/extensions")
                self.assertEqual(status, 200, body)
                rounds = attack.rounds
                wait_for(lambda: attack.rounds > rounds, 30, "another round of the attack")
            self.assertGreaterEqual(attack.opened, 1000)
        finally:
            attack.stop.set()
            attack.join(30)
        self.assertGreater(self.closed_by_limits("evicted"), 0)
        log = self.log()
        self.assertIn("WEB_MAX_ANONYMOUS_CONNECTIONS", log)
        # Once a minute per limit, not once per connection.
        lines = [l for l in log.splitlines() if "connection limit:" in l]
        self.assertLess(len(lines), 20, lines[:30])

    def test_one_address_holds_a_bounded_number_of_connections(self):
        # 40 silent connections from one address: past
        # WEB_MAX_ANONYMOUS_PER_ADDRESS (32) the address is refused, and
        # that is logged with the address.
        socks = [connect(self.stack.web_port, "127.0.0.80") for _ in range(40)]
        try:
            wait_for(lambda: "refusing connections from 127.0.0.80" in self.log(), 10,
                     "the per-address refusal logged")
            self.assertIn("WEB_MAX_ANONYMOUS_PER_ADDRESS", self.log())
            self.assertGreater(self.closed_by_limits("refused"), 0)
            # Another address is served meanwhile.
            conn = http.client.HTTPConnection("127.0.0.1", self.stack.web_port, timeout=10,
                                              source_address=("127.0.0.81", 0))
            conn.request("GET", "/healthz")
            self.assertEqual(conn.getresponse().status, 200)
            conn.close()
        finally:
            for s in socks:
                s.close()

    # ---- finding 3: the login limiter ----

    def test_made_up_names_do_not_flush_the_limiter(self):
        port = self.stack.web_port
        attacker = "127.0.0.50"
        statuses = {}
        conn = None
        for i in range(10000):
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15,
                                                  source_address=(attacker, 0))
            try:
                conn.request("POST", "/api/login",
                             json.dumps({"username": f"made-up-{i}", "password": "guess"}),
                             {"Content-Type": "application/json"})
                r = conn.getresponse()
                r.read()
                statuses[r.status] = statuses.get(r.status, 0) + 1
            except (http.client.HTTPException, OSError):
                conn.close()
                conn = None
        if conn is not None:
            conn.close()
        # WEB_LOGIN_MAX_FAILURES_PER_ADDRESS = 10 checked, the rest refused.
        self.assertEqual(statuses.get(401), 10, statuses)
        self.assertGreater(statuses.get(429, 0), 9000, statuses)
        # The attacker's address is still refused, for any name.
        status, body, _ = self.login_from(attacker, "admin", "still-guessing")
        self.assertEqual(status, 429, body)
        # The admin, from another address, logs in.
        status, body, _ = self.login_from("127.0.0.51", "admin", ADMIN_PASSWORD)
        self.assertEqual(status, 200, body)
        self.assertIn("login limiter", self.log())

    def login_from(self, source, user, password, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.stack.web_port, timeout=30,
                                          source_address=(source, 0))
        try:
            h = {"Content-Type": "application/json"}
            h.update(headers or {})
            conn.request("POST", "/api/login",
                         json.dumps({"username": user, "password": password}), h)
            r = conn.getresponse()
            raw = r.read()
            return r.status, json.loads(raw) if raw else None, dict(r.getheaders())
        finally:
            conn.close()

    def test_forwarded_for_is_believed_only_from_a_trusted_proxy(self):
        # Behind the proxy, three wrong passwords from one client lock that
        # client out, not everyone behind the proxy.
        xff = {"X-Forwarded-For": "198.51.100.7, 203.0.113.5"}
        for _ in range(3):
            self.assertEqual(self.login_from(PROXY, "reader", "wrong", xff)[0], 401)
        status, body, _ = self.login_from(PROXY, "reader", "wrong", xff)
        self.assertEqual(status, 429, body)
        self.assertIn("203.0.113.5", body["error"])  # the client, not the proxy
        # A client at the left of the list cannot pick its address.
        spoof = {"X-Forwarded-For": "203.0.113.6, 203.0.113.5"}
        self.assertEqual(self.login_from(PROXY, "reader", "reader-password-1", spoof)[0], 429)
        other = {"X-Forwarded-For": "203.0.113.6"}
        self.assertEqual(self.login_from(PROXY, "reader", "reader-password-1", other)[0], 200)
        # A peer that is not a trusted proxy: its header is ignored.
        for _ in range(3):
            self.assertEqual(self.login_from("127.0.0.70", "reader", "wrong",
                                             {"X-Forwarded-For": "192.0.2.1"})[0], 401)
        status, body, _ = self.login_from("127.0.0.70", "reader", "wrong",
                                          {"X-Forwarded-For": "192.0.2.2"})
        self.assertEqual(status, 429, body)
        self.assertIn("127.0.0.70", body["error"])

    def test_refused_logins_do_not_count_and_accounts_have_a_budget(self):
        # Many wrong passwords for one account at once, each from its own
        # address: some are checked (401), the others find the password
        # checker busy (503) and must not count.
        results = []
        lock = threading.Lock()

        def attempt(i):
            status = self.login_from(f"127.0.1.{i + 1}", "burst", f"wrong-{i}")[0]
            with lock:
                results.append(status)

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(80)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        checked = results.count(401)
        self.assertEqual(checked + results.count(503), 80, results)
        self.assertGreater(results.count(503), 0, results)
        self.assertLess(checked, 30, results)
        # WEB_LOGIN_MAX_FAILURES_PER_ACCOUNT = 30: exactly 30 - checked
        # more failures are allowed for the account, from anywhere.
        for i in range(30 - checked):
            status, body, _ = self.login_from(f"127.0.2.{i + 1}", "burst", "wrong")
            self.assertEqual(status, 401, (i, checked, body))
        status, body, _ = self.login_from("127.0.3.1", "burst", "burst-password-1")
        self.assertEqual(status, 429, body)

    # ---- finding 4: event-stream slots per user ----

    def test_one_user_cannot_take_every_event_stream(self):
        port = self.stack.web_port
        streams = [EventStream(port, self.reader_token) for _ in range(3)]
        try:
            self.assertEqual([s.status for s in streams], [200] * 3)
            extra = EventStream(port, self.reader_token)
            self.assertEqual(extra.status, 429)
            self.assertIn("retry-after", extra.headers)
            extra.close()
            status, body, _ = Web(port, token=self.reader_token).get("/api/events/stream")
            self.assertEqual(status, 429)
            self.assertIn("WEB_SSE_MAX_PER_USER", body["error"])
            # Another user still gets one.
            admin = EventStream(port, self.token)
            self.assertEqual(admin.status, 200)
            admin.close()
            # A closed stream frees its slot.
            streams.pop().close()

            def reopened():
                s = EventStream(port, self.reader_token)
                if s.status == 200:
                    streams.append(s)
                    return True
                s.close()
                return False
            wait_for(reopened, 20, "a slot freed by a closed stream")
        finally:
            for s in streams:
                s.close()
        self.assertIn("WEB_SSE_MAX_PER_USER", self.log())


if __name__ == "__main__":
    unittest.main(verbosity=2)

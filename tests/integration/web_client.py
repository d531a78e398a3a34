"""A small HTTP client for web-api's tests: a session cookie jar with the
CSRF header a browser page would send, Bearer tokens, raw bodies and an
event-stream reader. Used by test_40_web_api.py and the test_8x_*.py
scripts."""
import http.client
import json
import socket
import time

from harness import WEB_ADMIN_PASSWORD as ADMIN_PASSWORD


class Web:
    def __init__(self, port, token=None):
        self.port = port
        self.cookie = None
        self.csrf = None
        self.token = token

    def request(self, method, path, body=None, headers=None, content_type=None,
                csrf=True, timeout=15):
        """(status, decoded JSON or text, headers). `body` may be a dict
        (sent as JSON), bytes or str (sent as is)."""
        hdrs = dict(headers or {})
        data = None
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        elif isinstance(body, str):
            data = body.encode()
        elif isinstance(body, bytes):
            data = body
        if content_type:
            hdrs["Content-Type"] = content_type
        if self.token:
            hdrs.setdefault("Authorization", f"Bearer {self.token}")
        if self.cookie:
            hdrs.setdefault("Cookie", self.cookie)
            if csrf and self.csrf and method not in ("GET", "HEAD"):
                hdrs.setdefault("X-CSRF-Token", self.csrf)
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=data, headers=hdrs)
            r = conn.getresponse()
            raw = r.read()
            headers = {k: v for k, v in r.getheaders()}
            status = r.status
        finally:
            conn.close()
        ctype = headers.get("Content-Type", "")
        if "json" in ctype:
            value = json.loads(raw) if raw else None
        else:
            value = raw.decode("utf-8", "replace")
        return status, value, headers

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body, **kw)

    def put(self, path, body=None, **kw):
        return self.request("PUT", path, body, **kw)

    def delete(self, path, body=None, **kw):
        return self.request("DELETE", path, body, **kw)

    def login(self, user="admin", password=ADMIN_PASSWORD):
        status, body, headers = self.post("/api/login", {"username": user, "password": password})
        if status == 200:
            self.cookie = headers["Set-Cookie"].split(";")[0]
            self.csrf = body["csrf_token"]
        return status, body, headers


def admin_token(port, name="tests", role="admin", user="admin", password=ADMIN_PASSWORD):
    """A Bearer token created through a login session."""
    web = Web(port)
    status, body, _ = web.login(user, password)
    assert status == 200, body
    status, body, _ = web.post("/api/tokens", {"name": name, "role": role})
    assert status == 201, body
    return body["token"]


class EventStream:
    """Reads GET /api/events/stream over a raw socket and parses SSE."""

    def __init__(self, port, token, last_event_id=None, timeout=20):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        extra = f"Last-Event-ID: {last_event_id}\r\n" if last_event_id is not None else ""
        self.sock.sendall((f"GET /api/events/stream HTTP/1.1\r\nHost: x\r\n"
                           f"Authorization: Bearer {token}\r\n{extra}"
                           "Accept: text/event-stream\r\n\r\n").encode())
        self.buf = b""
        self.status = None
        self.headers = {}
        self._read_head()
        self.pending = b""

    def _read_head(self):
        while b"\r\n\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed before the headers")
            self.buf += chunk
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode().split("\r\n")
        self.status = int(lines[0].split()[1])
        for line in lines[1:]:
            k, _, v = line.partition(":")
            self.headers[k.strip().lower()] = v.strip()

    def _dechunk(self):
        """Moves complete chunks from buf to pending (chunked encoding)."""
        while True:
            if b"\r\n" not in self.buf:
                return
            size_line, rest = self.buf.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0], 16)
            if size == 0:
                raise ConnectionError("stream ended")
            if len(rest) < size + 2:
                return
            self.pending += rest[:size]
            self.buf = rest[size + 2:]

    def events(self, until, timeout=20):
        """Yields parsed events (dict with id, event, data, comment) until
        `until(event)` is true or the timeout passes."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            while b"\n\n" in self.pending:
                block, self.pending = self.pending.split(b"\n\n", 1)
                ev = {"id": None, "event": "message", "data": "", "comment": ""}
                for line in block.decode("utf-8").split("\n"):
                    if line.startswith(":"):
                        ev["comment"] += line[1:].strip()
                        continue
                    k, _, v = line.partition(":")
                    v = v[1:] if v.startswith(" ") else v
                    if k == "data":
                        ev["data"] += v
                    elif k in ("id", "event", "retry"):
                        ev[k] = v
                yield ev
                if until(ev):
                    return
            self.sock.settimeout(max(0.1, deadline - time.time()))
            try:
                chunk = self.sock.recv(65536)
            except socket.timeout:
                continue
            if not chunk:
                raise ConnectionError("the server closed the stream")
            self.buf += chunk
            self._dechunk()
        raise TimeoutError("event not seen in time")

    def close(self):
        self.sock.close()


def fake_gateway(bus, site="main", exts=(("2000", "Alice Martin"), ("2001", "Bruno Durand"),
                                        ("2002", "Chloe Garcia")), status="available"):
    """Publishes what yeastar-gateway would (directory and states), so that
    web-api's tests do not depend on a PBX."""
    bus.publish(f"site/{site}/directory", json.dumps({
        "site": site, "updated_at": "2026-11-21T11:29:49+01:00",
        "extensions": [{"number": n, "id": i + 1, "name": name}
                       for i, (n, name) in enumerate(exts)]}), retain=True)
    for i, (n, name) in enumerate(exts):
        publish_state(bus, site, n, status, i + 1, name)


def publish_state(bus, site, ext, status, pbx_id=1, name="", in_sync=True, retain=True):
    bus.publish(f"ext/{site}/{ext}/state", json.dumps({
        "status": status, "in_sync": in_sync, "updated_at": "2026-11-21T11:29:54+01:00",
        "name": name, "pbx_id": pbx_id, "online": ["sip_phone"]}), retain=retain)


def wait_for(pred, timeout=15.0, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} not reached in {timeout}s")

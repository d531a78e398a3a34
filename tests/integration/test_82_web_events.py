"""The live event stream, GET /api/events/stream (Server-Sent Events):
every status, override, apply and other bus event; Last-Event-ID resume
from the ring, a resync when the ring no longer holds it; heartbeats; a
slow client dropped while the others get everything and the service keeps
answering; a cap on clients."""
import json
import socket
import threading
import time
import unittest

from harness import Stack
from web_client import ADMIN_PASSWORD, EventStream, Web, admin_token, fake_gateway, \
    publish_state, wait_for


class WebEvents(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack("82_web_events", sim=False,
                          env={"WEB_ADMIN_PASSWORD": ADMIN_PASSWORD,
                               "WEB_SSE_RING_EVENTS": "256",
                               "WEB_SSE_HEARTBEAT_SECONDS": "1",
                               "WEB_SSE_MAX_CLIENTS": "6"}).start("web-api")
        fake_gateway(cls.stack.bus)
        cls.token = admin_token(cls.stack.web_port)
        cls.web = Web(cls.stack.web_port, token=cls.token)
        wait_for(lambda: cls.web.get("/api/extensions")[1]["count"] == 3)

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.stop()
        assert cls.stack.sanitizer_reports() == [], cls.stack.sanitizer_reports()
        assert all(c == 0 for c in codes.values()), codes

    def stream(self, **kw):
        es = EventStream(self.stack.web_port, self.token, **kw)
        self.assertEqual(es.status, 200)
        self.assertTrue(es.headers["content-type"].startswith("text/event-stream"))
        # The greeting comment comes first: the stream is up.
        next(es.events(lambda e: True))
        return es

    def test_anonymous_is_refused(self):
        es = EventStream(self.stack.web_port, "pbt_wrong")
        self.assertEqual(es.status, 401)
        es.close()

    def test_status_and_bus_events_arrive(self):
        es = self.stream()
        publish_state(self.stack.bus, "main", "2001", "lunch", 2, "Bruno Durand", retain=True)
        ev = [e for e in es.events(lambda e: e["event"] == "extension")][-1]
        data = json.loads(ev["data"])
        self.assertEqual((data["number"], data["pbx"]["status"], data["change"]),
                         ("2001", "lunch", "state"))
        self.stack.bus.publish("events/apply", json.dumps({
            "site": "main", "ext": "2001", "status": "lunch", "result": "ok", "kind": "apply",
            "at": "2026-11-21T10:29:54Z", "service": "yeastar-gateway"}))
        ev = [e for e in es.events(lambda e: e["event"] == "apply")][-1]
        self.assertEqual(json.loads(ev["data"])["ext"], "2001")
        # A new schedule is announced too (the week view reads it again).
        self.stack.bus.publish("ext/main/2001/schedule", json.dumps({
            "site": "main", "ext": "2001", "horizon": {"start": "2026-11-21T00:00:00+01:00",
                                                     "end": "2026-12-05T00:00:00+01:00"},
            "slots": []}))
        ev = [e for e in es.events(lambda e: e["event"] == "extension" and
                                   json.loads(e["data"])["change"] == "schedule")][-1]
        self.assertEqual(json.loads(ev["data"])["number"], "2001")
        es.close()

    def test_heartbeat(self):
        es = self.stream()
        comments = [e for e in es.events(lambda e: e["comment"] == "ping", timeout=10)]
        self.assertEqual(comments[-1]["comment"], "ping")
        es.close()

    def test_last_event_id_resume_and_resync(self):
        es = self.stream()
        publish_state(self.stack.bus, "main", "2000", "away", 1, "Alice Martin")
        first = [e for e in es.events(lambda e: e["event"] == "extension")][-1]
        es.close()
        for status in ("lunch", "off_work", "available"):
            publish_state(self.stack.bus, "main", "2000", status, 1, "Alice Martin")
        time.sleep(0.5)
        es = self.stream(last_event_id=first["id"])
        got = [e for e in es.events(lambda e: e["event"] == "extension" and
                                    json.loads(e["data"])["pbx"]["status"] == "available")]
        ext = [e for e in got if e["event"] == "extension"]
        self.assertEqual([json.loads(e["data"])["pbx"]["status"] for e in ext],
                         ["lunch", "off_work", "available"])
        self.assertEqual([int(e["id"]) for e in ext],
                         [int(first["id"]) + i for i in (1, 2, 3)])
        es.close()
        for bad in ("1", "garbage"):
            es = EventStream(self.stack.web_port, self.token, last_event_id=bad)
            ev = [e for e in es.events(lambda e: e["event"] == "resync")][-1]
            self.assertIn("no longer available", json.loads(ev["data"])["reason"])
            es.close()

    def test_slow_client_is_dropped_others_get_everything(self):
        fast = self.stream()
        # A client that never reads, with a tiny receive buffer.
        slow = socket.socket()
        slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        slow.connect(("127.0.0.1", self.stack.web_port))
        slow.sendall((f"GET /api/events/stream HTTP/1.1\r\nHost: x\r\n"
                      f"Authorization: Bearer {self.token}\r\n\r\n").encode())
        time.sleep(0.3)
        # Large events (an override with a long reason), enough to fill the
        # slow client's socket buffers many times over.
        n = 6000
        pad = "x" * 900
        last = f"r{n - 1} {pad}"
        seen, errors = [], []

        def read_fast():
            try:
                for ev in fast.events(lambda e: e["event"] == "extension" and
                                      json.loads(e["data"])["override"]["reason"] == last,
                                      timeout=120):
                    if ev["event"] == "extension":
                        seen.append(json.loads(ev["data"])["override"]["reason"].split()[0])
            except Exception as e:  # reported below
                errors.append(e)

        reader = threading.Thread(target=read_fast)
        reader.start()
        for i in range(n):
            if i % 100 == 0:
                # Paced so that the fast client, however slow this machine, is
                # never more than 200 events (< the ring of 256) behind.
                deadline = time.time() + 60
                while len(seen) < i - 100 and not errors and time.time() < deadline:
                    time.sleep(0.01)
            self.stack.bus.publish("ext/main/2002/override", json.dumps({
                "status": "away", "until": None, "reason": f"r{i} {pad}", "by": "load",
                "set_at": "2026-11-21T11:30:01+01:00"}))
        reader.join(150)
        self.assertEqual(errors, [])
        self.assertEqual(seen, [f"r{i}" for i in range(n)])
        # The service kept answering, and the slow client was let go.
        self.assertEqual(self.web.get("/healthz")[0], 200)
        metrics = wait_for(lambda: (lambda m: m if "presencebus_sse_dropped_total 0" not in m
                                    else None)(self.web.get("/metrics")[1]), what="a drop")
        self.assertRegex(metrics, r"presencebus_sse_dropped_total [1-9]")
        slow.settimeout(10)
        received = b""
        try:
            while True:
                chunk = slow.recv(65536)
                if not chunk:
                    break
                received += chunk
        except OSError:
            pass
        self.assertNotIn(f"r{n - 1} ".encode(), received)
        slow.close()
        fast.close()

    def test_zz_client_cap(self):
        streams = []
        wait_for(lambda: "presencebus_sse_clients 0" in self.web.get("/metrics")[1],
                 what="no client left")
        for _ in range(6):
            streams.append(self.stream())
        es = EventStream(self.stack.web_port, self.token)
        self.assertEqual(es.status, 503)
        es.close()
        for s in streams:
            s.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""Integration test for the PBX simulator's event feed: the WebSocket
subscribe endpoint (token, handshake, topic_list, heartbeat, idle limit,
RFC 6455 strictness, drop and refuse controls), the events it pushes
(30007, 30008, 30009, 30011, 30012), webhooks, transfer, recordings and
click-to-call (tools/pbx-simulator/README.md "Event feed").

Run: /usr/bin/python3 tests/integration/test_12_pbx_simulator_feed.py
Binary: $PB_SIM_BIN, else /tmp/pbx-simulator. Standard library only: the
WebSocket client below is a small RFC 6455 client, so that the tests can
also send what a correct client never would (unmasked frames...)."""

import base64
import hashlib
import json
import os
import socket
import struct
import sys
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_10_pbx_simulator import API, UA, SimTestCase  # noqa: E402

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class Refused(Exception):
    def __init__(self, status, headers, body):
        super().__init__("upgrade refused: %d %r" % (status, body))
        self.status, self.headers, self.body = status, headers, body


class Ws:
    """A minimal WebSocket client on a blocking socket."""

    def __init__(self, port, token, ua=UA, headers=None, key=None,
                 timeout=10):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        self.buf = b""
        key = key or base64.b64encode(os.urandom(16)).decode()
        query = "" if token is None else "?" + urllib.parse.urlencode(
            {"access_token": token})
        hdrs = {"Host": "127.0.0.1:%d" % port, "Upgrade": "websocket",
                "Connection": "Upgrade", "Sec-WebSocket-Key": key,
                "Sec-WebSocket-Version": "13"}
        if ua is not None:
            hdrs["User-Agent"] = ua
        hdrs.update(headers or {})
        req = "GET %ssubscribe%s HTTP/1.1\r\n" % (API, query)
        req += "".join("%s: %s\r\n" % kv for kv in hdrs.items() if kv[1]
                       is not None)
        self.sock.sendall((req + "\r\n").encode())
        head = self._read_until(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        got = {}
        for line in lines[1:]:
            if ":" in line:
                k, v = line.split(":", 1)
                got[k.strip().lower()] = v.strip()
        if status != 101:
            length = int(got.get("content-length", "0"))
            body = self._read_n(length) if length else b""
            self.sock.close()
            raise Refused(status, got, body)
        want = base64.b64encode(hashlib.sha1(
            (key + WS_GUID).encode()).digest()).decode()
        if got.get("sec-websocket-accept") != want:
            raise AssertionError("bad Sec-WebSocket-Accept: %r" % got)
        self.headers = got

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed by the server")
        self.buf += data

    def _read_until(self, mark):
        while mark not in self.buf:
            self._fill()
        i = self.buf.index(mark) + len(mark)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def _read_n(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send_frame(self, opcode, payload, fin=True, mask=True, rsv=0):
        if isinstance(payload, str):
            payload = payload.encode()
        head = bytes([(0x80 if fin else 0) | rsv | opcode])
        n = len(payload)
        m = 0x80 if mask else 0
        if n < 126:
            head += bytes([m | n])
        elif n < 65536:
            head += bytes([m | 126]) + struct.pack(">H", n)
        else:
            head += bytes([m | 127]) + struct.pack(">Q", n)
        if mask:
            key = os.urandom(4)
            head += key
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + payload)

    def send(self, text):
        self.send_frame(0x1, text)

    def frame(self):
        """(opcode, payload bytes) of the next frame."""
        b0, b1 = self._read_n(2)
        if b1 & 0x80:
            raise AssertionError("server frames must not be masked")
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack(">H", self._read_n(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", self._read_n(8))[0]
        return b0 & 0x0F, self._read_n(n)

    def recv(self):
        """The next text message; AssertionError on anything else."""
        op, data = self.frame()
        if op != 0x1:
            raise AssertionError("expected text, got opcode %d %r" % (op, data))
        return data.decode()

    def recv_json(self):
        return json.loads(self.recv())

    def expect_close(self):
        """The close code the server sends, or None if it just hung up."""
        try:
            while True:
                op, data = self.frame()
                if op == 0x8:
                    return struct.unpack(">H", data[:2])[0] if data else 1005
        except (ConnectionError, OSError):
            return None

    def closed(self, timeout=5):
        """True once the server has closed the TCP connection."""
        self.sock.settimeout(timeout)
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except socket.timeout:
            return False
        except OSError:
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


class FeedCase(SimTestCase):
    def setUp(self):
        self.sim = self.start(*self.sim_args())
        self.tok = self.sim.token()

    def sim_args(self):
        return ()

    def ws(self, token=None, **kw):
        ws = Ws(self.sim.port, self.tok if token is None else token, **kw)
        self.addCleanup(ws.close)
        return ws

    def subscribe(self, topics, **kw):
        ws = self.ws(**kw)
        ws.send(json.dumps({"topic_list": topics}))
        self.assertEqual(ws.recv_json(), {"errcode": 0, "errmsg": "SUCCESS"})
        return ws

    def refused(self, token, **kw):
        with self.assertRaises(Refused) as cm:
            Ws(self.sim.port, token, **kw)
        return cm.exception

    def assertWsParamError(self, ws, field):
        j = ws.recv_json()
        self.assertEqual(j["errcode"], 40002, j)
        self.assertEqual(j["errmsg"], "PARAMETER ERROR", j)
        self.assertIn(field, [p["field"] for p in j["invalid_param_list"]], j)


class TestHandshake(FeedCase):
    def test_token_required(self):
        for token in (None, "", "not-a-token-at-all-0123456789abc"):
            e = self.refused(token)
            self.assertEqual(e.status, 200, e.body)
            self.assertEqual(json.loads(e.body)["errcode"], 10002, e.body)

    def test_expired_and_revoked_token_refused(self):
        status, _ = self.sim.ctl("POST", "expire_tokens", body={})
        self.assertEqual(status, 200)
        e = self.refused(self.tok)
        self.assertEqual(json.loads(e.body)["errcode"], 10004, e.body)
        tok = self.sim.token()
        self.sim.api("GET", "del_token", tok)
        e = self.refused(tok)
        self.assertEqual(json.loads(e.body)["errcode"], 10002, e.body)

    def test_user_agent_required(self):
        e = self.refused(self.tok, ua=None)
        self.assertEqual(e.status, 403, e.body)

    def test_bad_handshakes(self):
        e = self.refused(self.tok, headers={"Sec-WebSocket-Version": "8"})
        self.assertEqual(e.status, 426, e.body)
        self.assertEqual(e.headers.get("sec-websocket-version"), "13")
        e = self.refused(self.tok, key="c2hvcnQ=")
        self.assertEqual(e.status, 400, e.body)
        e = self.refused(self.tok, headers={"Upgrade": None})
        self.assertEqual(e.status, 400, e.body)
        # a plain GET without any upgrade headers
        status, j = self.sim.api("GET", "subscribe", self.tok)
        self.assertEqual(status, 400, j)
        self.assertEqual(j["errcode"], -1, j)
        # and the method is checked before all that
        status, j = self.sim.api("POST", "subscribe", self.tok, body={})
        self.assertEqual(status, 405, j)

    def test_refuse_control(self):
        status, j = self.sim.ctl("POST", "ws/refuse", body={"refuse": True})
        self.assertEqual(status, 200, j)
        e = self.refused(self.tok)
        self.assertEqual(e.status, 503)
        self.sim.ctl("POST", "ws/refuse", body={"refuse": True, "status": 403})
        self.assertEqual(self.refused(self.tok).status, 403)
        for bad in ({}, {"refuse": "yes"}, {"refuse": True, "status": 200}):
            status, j = self.sim.ctl("POST", "ws/refuse", body=bad)
            self.assertEqual(status, 400, (bad, j))
        self.sim.ctl("POST", "ws/refuse", body={"refuse": False})
        self.subscribe([30011])

    def test_upgrade_is_logged(self):
        self.ws()
        status, log = self.sim.ctl("GET", "requests")
        subs = [r for r in log if r["path"] == API + "subscribe"]
        self.assertEqual(subs[-1]["http_status"], 101, subs)


class TestSubscription(FeedCase):
    def test_subscribe_and_heartbeat(self):
        ws = self.subscribe([30011, 30012])
        for _ in range(2):
            ws.send("heartbeat")
            self.assertEqual(ws.recv(), "heartbeat response")
        status, j = self.sim.ctl("GET", "ws")
        self.assertEqual(status, 200)
        self.assertEqual(j["connections"][0]["topic_list"], [30011, 30012])

    def test_heartbeat_before_subscription(self):
        ws = self.ws()
        ws.send("heartbeat")
        self.assertEqual(ws.recv(), "heartbeat response")

    def test_bad_subscriptions(self):
        ws = self.ws()
        for bad, field in (('{"topic_list":[]}', "topic_list"),
                           ('{"topic_list":["30011"]}', "topic_list"),
                           ('{"topic_list":[12345]}', "topic_list"),
                           ('{"topic_list":30011}', "topic_list"),
                           ('{"topic_list":[30011],"x":1}', "x"),
                           ('{"topics":[30011]}', "topics"),
                           ('{"topic_list":[30011],"topic_list":[30012]}',
                            "message"),
                           ("[30011]", "message"),
                           ("hello", "message"),
                           ("Heartbeat", "message")):
            ws.send(bad)
            self.assertWsParamError(ws, field)
        # the connection is still usable after refusals
        ws.send('{"topic_list":[30008]}')
        self.assertEqual(ws.recv_json()["errcode"], 0)

    def test_unmasked_frame_closed_1002(self):
        ws = self.ws()
        ws.send_frame(0x1, "heartbeat", mask=False)
        self.assertEqual(ws.expect_close(), 1002)
        self.assertTrue(ws.closed())

    def test_binary_closed_1003(self):
        ws = self.ws()
        ws.send_frame(0x2, b"\x00\x01")
        self.assertEqual(ws.expect_close(), 1003)

    def test_reserved_bits_and_bad_utf8(self):
        ws = self.ws()
        ws.send_frame(0x1, "heartbeat", rsv=0x40)
        self.assertEqual(ws.expect_close(), 1002)
        ws = self.ws()
        ws.send_frame(0x1, b"\xc3\x28")
        self.assertEqual(ws.expect_close(), 1007)

    def test_ping_fragments_and_close(self):
        ws = self.ws()
        ws.send_frame(0x9, b"abc")
        self.assertEqual(ws.frame(), (0xA, b"abc"))
        ws.send_frame(0x1, "heart", fin=False)
        ws.send_frame(0x0, "beat")
        self.assertEqual(ws.recv(), "heartbeat response")
        ws.send_frame(0x8, struct.pack(">H", 1000))
        self.assertEqual(ws.expect_close(), 1000)
        self.assertTrue(ws.closed())

    def test_too_big_closed_1009(self):
        ws = self.ws()
        ws.send_frame(0x1, "x" * (64 * 1024 + 1))
        self.assertEqual(ws.expect_close(), 1009)


class TestIdleAndFaults(FeedCase):
    def sim_args(self):
        return ("--ws-idle-timeout", "2")

    def test_idle_connection_closed(self):
        ws = self.subscribe([30011])
        self.assertEqual(ws.expect_close(), 1000)
        self.assertTrue(ws.closed())
        status, j = self.sim.ctl("GET", "ws")
        self.assertGreaterEqual(j["idle_closed"], 1)

    def test_heartbeats_keep_it_open(self):
        ws = self.subscribe([30011])
        for _ in range(10):  # 3 s in all, 0.3 s between messages
            time.sleep(0.3)
            ws.send("heartbeat")
            self.assertEqual(ws.recv(), "heartbeat response")

    def test_drop_all(self):
        a = self.subscribe([30011])
        b = self.subscribe([30012])
        status, j = self.sim.ctl("POST", "ws/drop", body={})
        self.assertEqual((status, j["dropped"]), (200, 2))
        self.assertIsNone(a.expect_close())
        self.assertIsNone(b.expect_close())
        # new connections are welcome again
        self.subscribe([30011])

    def test_token_end_closes_the_feed(self):
        ws = self.subscribe([30011])
        self.sim.api("GET", "del_token", self.tok)
        self.assertEqual(ws.expect_close(), 1008)


if __name__ == "__main__":
    unittest.main()

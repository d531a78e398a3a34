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
import hmac
import http.client
import http.server
import json
import os
import socket
import ssl
import struct
import subprocess
import tempfile
import sys
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_10_pbx_simulator import API, SIM_BIN, UA, SimTestCase  # noqa: E402

WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
T0 = 1767268800  # 2026-01-01 12:00:00 UTC
EXT_CALL_STATUS = {"Ringing", "Busy", "Idle"}


class Refused(Exception):
    def __init__(self, status, headers, body):
        super().__init__("upgrade refused: %d %r" % (status, body))
        self.status, self.headers, self.body = status, headers, body


class Ws:
    """A minimal WebSocket client on a blocking socket."""

    def __init__(self, port, token, ua=UA, headers=None, key=None,
                 timeout=10, tls=None):
        self.sock = socket.create_connection(("127.0.0.1", port),
                                             timeout=timeout)
        if tls is not None:  # wss: an ssl.SSLContext
            self.sock = tls.wrap_socket(self.sock,
                                        server_hostname="127.0.0.1")
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


class TestFeedFlags(unittest.TestCase):
    def test_help_and_bad_values(self):
        out = subprocess.run([SIM_BIN, "--help"], capture_output=True,
                             text=True, timeout=10)
        for flag in ("--ws-idle-timeout", "--demo-calls", "--sn"):
            self.assertIn(flag, out.stdout)
        for args in (["--ws-idle-timeout", "0"], ["--ws-idle-timeout", "x"],
                     ["--ws-idle-timeout", "3601"], ["--demo-calls", "yes"]):
            out = subprocess.run([SIM_BIN, "--listen", "127.0.0.1:0", *args],
                                 capture_output=True, text=True, timeout=10)
            self.assertNotEqual(out.returncode, 0, args)


class TestWss(SimTestCase):
    def test_feed_over_tls(self):
        tmp = tempfile.TemporaryDirectory(prefix="pbsim-wss-")
        self.addCleanup(tmp.cleanup)
        cert = os.path.join(tmp.name, "c.pem")
        key = os.path.join(tmp.name, "k.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048",
                        "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext",
                        "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        sim = self.start("--tls-cert", cert, "--tls-key", key)
        ctx = ssl.create_default_context(cafile=cert)
        conn = http.client.HTTPSConnection("127.0.0.1", sim.port, context=ctx,
                                           timeout=10)
        conn.request("POST", API + "get_token", headers={"User-Agent": UA},
                     body=json.dumps({"username": "presencebus-demo",
                                      "password": "demo-secret-0123456789"
                                                  "abcdef0123"}))
        tok = json.loads(conn.getresponse().read())["access_token"]
        conn.close()
        ws = Ws(sim.port, tok, tls=ctx)
        self.addCleanup(ws.close)
        ws.send('{"topic_list":[30009]}')
        self.assertEqual(ws.recv_json()["errcode"], 0)
        ws.send("heartbeat")
        self.assertEqual(ws.recv(), "heartbeat response")
        # the control API shares the HTTPS port: post the change over TLS
        conn = http.client.HTTPSConnection("127.0.0.1", sim.port, context=ctx,
                                           timeout=10)
        conn.request("POST", "/sim/presence", body=json.dumps(
            {"number": "2003", "presence_status": "away"}))
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()
        self.assertEqual(event(ws), (30009, {"extension": "2003",
                                             "status": "away"}))


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

    def test_outage_cuts_the_feed(self):
        ws = self.subscribe([30011])
        self.sim.ctl("POST", "outage", body={"on": True})
        self.assertIsNone(ws.expect_close())
        with self.assertRaises((ConnectionError, OSError, Refused)):
            Ws(self.sim.port, self.tok)
        self.sim.ctl("POST", "outage", body={"on": False})
        self.subscribe([30011])

    def test_token_end_closes_the_feed(self):
        ws = self.subscribe([30011])
        self.sim.api("GET", "del_token", self.tok)
        self.assertEqual(ws.expect_close(), 1008)


def event(ws):
    """The next event on ws: (type, msg dict), checking the envelope."""
    env = ws.recv_json()
    assert set(env) == {"type", "sn", "msg"}, env
    assert isinstance(env["type"], int) and isinstance(env["sn"], str), env
    assert isinstance(env["msg"], str), "msg must be JSON text: %r" % env
    return env["type"], json.loads(env["msg"])


def members(msg):
    """{number: (kind, member_status)} of a 30011 message."""
    out = {}
    for m in msg["members"]:
        assert len(m) == 1, m
        kind, info = next(iter(m.items()))
        assert kind in ("extension", "inbound", "outbound"), m
        assert info["channel_id"], m
        if kind == "extension":
            out[info["number"]] = (kind, info["member_status"])
        else:
            assert info["trunk_name"], m
            out[info["to"] if kind == "outbound" else info["from"]] = (
                kind, info["member_status"])
    return out


class TestCallEvents(FeedCase):
    def ring(self, frm, to, **extra):
        status, j = self.sim.ctl("POST", "calls",
                                 body={"from": frm, "to": to, **extra})
        self.assertEqual(status, 201, j)
        return j

    def step(self, what, call_id, at, **extra):
        status, j = self.sim.ctl("POST", "calls/" + what,
                                 body={"call_id": call_id, "at": at, **extra})
        self.assertEqual(status, 200, j)
        return j

    def test_inbound_call_with_hold(self):
        ws = self.subscribe([30008, 30011, 30012])
        cid = self.ring("+33123456789", "2000", recording=True,
                        at=T0)["call_id"]
        t, m = event(ws)
        self.assertEqual((t, m["call_id"]), (30011, cid))
        self.assertEqual(members(m), {"+33123456789": ("inbound", "ALERT"),
                                      "2000": ("extension", "RING")})
        inbound = [x["inbound"] for x in m["members"] if "inbound" in x][0]
        self.assertEqual((inbound["from"], inbound["to"]),
                         ("+33123456789", "2000"))
        self.assertEqual(event(ws), (30008, {"extension": "2000",
                                             "status": "Ringing"}))
        self.step("answer", cid, T0 + 5)
        t, m = event(ws)
        self.assertEqual(members(m), {"+33123456789": ("inbound", "ANSWERED"),
                                      "2000": ("extension", "ANSWER")})
        self.assertEqual(event(ws), (30008, {"extension": "2000",
                                             "status": "Busy"}))
        self.step("hold", cid, T0 + 20)
        t, m = event(ws)
        self.assertEqual({v[1] for v in members(m).values()}, {"HOLD"})
        self.step("unhold", cid, T0 + 30)
        t, m = event(ws)
        self.assertEqual(members(m)["2000"], ("extension", "ANSWER"))
        cdr = self.step("hangup", cid, T0 + 65)
        t, m = event(ws)
        self.assertEqual({v[1] for v in members(m).values()}, {"BYE"})
        t, m = event(ws)
        self.assertEqual(t, 30012)
        for key in ("call_id", "time_start", "call_from", "call_to",
                    "call_duration", "talk_duration", "src_trunk_name",
                    "dst_trunk_name", "pin_code", "status", "type",
                    "recording", "did_number", "agent_ring_time"):
            self.assertIn(key, m)
        self.assertEqual(m["call_id"], cid)
        self.assertEqual(m["time_start"], "01/01/2026 12:00:00")
        self.assertEqual((m["call_from"], m["call_to"]),
                         ("+33123456789", "2000"))
        self.assertEqual((m["call_duration"], m["talk_duration"]), (65, 60))
        self.assertEqual((m["status"], m["type"]), ("ANSWERED", "inbound"))
        self.assertEqual(m["recording"], cdr["recording"])
        self.assertTrue(m["recording"].endswith(".wav"), m)
        self.assertEqual(m["src_trunk_name"], cdr["src_trunk"])
        self.assertNotEqual(m["src_trunk_name"], "")
        self.assertEqual(event(ws), (30008, {"extension": "2000",
                                             "status": "Idle"}))

    def test_internal_unanswered_and_topics(self):
        only_cdr = self.subscribe([30012])
        ws = self.subscribe([30008])
        cid = self.ring("2000", "2001", at=T0)["call_id"]
        got = {event(ws)[1]["extension"]: None for _ in range(2)}
        self.assertEqual(set(got), {"2000", "2001"})
        self.step("hangup", cid, T0 + 12, status="BUSY")
        self.assertEqual({event(ws)[1]["status"] for _ in range(2)}, {"Idle"})
        t, m = event(only_cdr)  # nothing else came first
        self.assertEqual((t, m["status"], m["type"]), (30012, "BUSY",
                                                       "internal"))
        self.assertEqual((m["call_duration"], m["talk_duration"]), (12, 0))
        self.assertEqual(m["recording"], "")

    def test_second_call_keeps_extension_busy(self):
        ws = self.subscribe([30008])
        a = self.ring("2000", "+33123456789", at=T0)["call_id"]
        self.assertEqual(event(ws)[1], {"extension": "2000", "status": "Busy"})
        b = self.ring("2001", "2000", at=T0 + 1)["call_id"]
        self.assertEqual(event(ws)[1], {"extension": "2001", "status": "Busy"})
        self.step("hangup", b, T0 + 3)
        self.assertEqual(event(ws)[1], {"extension": "2001", "status": "Idle"})
        self.step("hangup", a, T0 + 4)
        self.assertEqual(event(ws)[1], {"extension": "2000", "status": "Idle"})

    def test_presence_events(self):
        ws = self.subscribe([30009])
        status, _ = self.sim.ctl("POST", "presence",
                                 body={"number": "2001",
                                       "presence_status": "away"})
        self.assertEqual(status, 200)
        self.assertEqual(event(ws), (30009, {"extension": "2001",
                                             "status": "away"}))
        # the same status again is no change: no event
        self.sim.ctl("POST", "presence", body={"number": "2001",
                                               "presence_status": "away"})
        status, j = self.sim.api("POST", "extension/update", self.tok,
                                 body={"id": 3,
                                       "presence_status": "business_trip"})
        self.assertEqual(j["errcode"], 0, j)
        self.assertEqual(event(ws), (30009, {"extension": "2002",
                                             "status": "business_trip"}))

    def test_registration_events(self):
        ws = self.subscribe([30007])
        body = {"number": "2000", "kind": "Mobile", "status": "Registered",
                "registered_ip": "203.0.113.7"}
        status, j = self.sim.ctl("POST", "register", body=body)
        self.assertEqual((status, j["changed"]), (200, True))
        self.assertEqual(event(ws), (30007, {
            "extension": "2000", "kind": "Mobile", "status": "Registered",
            "registered_ip": "203.0.113.7"}))
        status, j = self.sim.ctl("POST", "register", body=body)
        self.assertEqual((status, j["changed"]), (200, False))
        status, j = self.sim.api("GET", "extension/get", self.tok,
                                 query={"id": 1})
        self.assertEqual(j["data"]["online_status"]["linkus_mobile"],
                         {"status": 1})
        self.sim.ctl("POST", "register", body={**body,
                                               "status": "Unregistered"})
        self.assertEqual(event(ws)[1]["status"], "Unregistered")
        for bad in ({**body, "kind": "Pad"}, {**body, "status": "On"},
                    {"number": "2000"}, {**body, "registered_ip": 7}):
            status, j = self.sim.ctl("POST", "register", body=bad)
            self.assertEqual(status, 400, (bad, j))
        status, j = self.sim.ctl("POST", "register",
                                 body={**body, "number": "2999"})
        self.assertEqual(status, 404, j)

    def test_monitoring_switches(self):
        ws = self.subscribe([30008, 30009, 30011])
        status, j = self.sim.ctl("POST", "monitor",
                                 body={"numbers": ["2000"], "call": False,
                                       "presence": False})
        self.assertEqual(status, 200, j)
        self.assertFalse(j["extensions"]["2000"]["call"])
        self.sim.ctl("POST", "presence", body={"number": "2000",
                                               "presence_status": "lunch"})
        self.sim.ctl("POST", "presence", body={"number": "2001",
                                               "presence_status": "lunch"})
        self.assertEqual(event(ws)[1]["extension"], "2001")
        self.ring("2000", "+33123456789", at=T0)
        t, m = event(ws)  # 30011 is not per extension: still sent
        self.assertEqual(t, 30011)
        self.ring("2001", "+33123456780", at=T0)
        self.assertEqual(event(ws)[0], 30011)
        self.assertEqual(event(ws)[1], {"extension": "2001", "status": "Busy"})
        for bad in ({"numbers": ["2999"], "call": True},
                    {"numbers": [], "call": True}, {"call": "yes"},
                    {"calls": True}):
            status, j = self.sim.ctl("POST", "monitor", body=bad)
            self.assertIn(status, (400, 404), (bad, j))


class TestTransfer(TestCallEvents):
    def test_blind_transfer(self):
        ws = self.subscribe([30008, 30011, 30012])
        cid = self.ring("+33123456789", "2000", recording=True,
                        at=T0)["call_id"]
        self.step("answer", cid, T0 + 4)
        for _ in range(4):
            event(ws)
        status, j = self.sim.ctl("POST", "calls/transfer",
                                 body={"call_id": cid, "to": "2001",
                                       "at": T0 + 30})
        self.assertEqual(status, 200, j)
        cdr, new = j["cdr"], j["call"]
        self.assertEqual((cdr["uid"], cdr["disposition"]), (cid, "ANSWERED"))
        self.assertEqual((cdr["duration"], cdr["talk_duration"]), (30, 26))
        self.assertNotEqual(new["call_id"], cid)
        self.assertEqual((new["from"], new["to"], new["type"], new["state"]),
                         ("+33123456789", "2001", "Inbound", "ringing"))
        seen = [event(ws) for _ in range(5)]
        self.assertEqual([t for t, _ in seen], [30011, 30012, 30011, 30008,
                                                30008])
        self.assertEqual({v[1] for v in members(seen[0][1]).values()},
                         {"BYE"})
        self.assertEqual(seen[1][1]["call_id"], cid)
        self.assertEqual(seen[2][1]["call_id"], new["call_id"])
        self.assertEqual(members(seen[2][1])["2001"], ("extension", "RING"))
        self.assertEqual({(m["extension"], m["status"]) for _, m in seen[3:]},
                         {("2000", "Idle"), ("2001", "Ringing")})
        status, calls = self.sim.ctl("GET", "calls")
        self.assertEqual([c["call_id"] for c in calls], [new["call_id"]])
        self.step("answer", new["call_id"], T0 + 35)
        cdr2 = self.step("hangup", new["call_id"], T0 + 95)
        self.assertEqual(cdr2["talk_duration"], 60)

    def test_transfer_refusals(self):
        ring = self.ring("2000", "2001", at=T0)["call_id"]
        status, j = self.sim.ctl("POST", "calls/transfer",
                                 body={"call_id": ring, "to": "2002"})
        self.assertEqual(status, 409, j)  # not answered yet
        self.step("answer", ring, T0 + 2)
        for body, code in (({"call_id": "1.1", "to": "2002"}, 404),
                           ({"call_id": ring, "to": "2000"}, 400),
                           ({"call_id": ring, "to": "abc"}, 400),
                           ({"call_id": ring}, 400),
                           ({"call_id": ring, "to": "2002", "by": "x"}, 400),
                           ({"call_id": ring, "to": "2002", "at": T0}, 400)):
            status, j = self.sim.ctl("POST", "calls/transfer", body=body)
            self.assertEqual(status, code, (body, j))
        out = self.ring("2003", "+33123456789", at=T0)["call_id"]
        self.step("answer", out, T0 + 1)
        # the caller leaves: an external party calling an external number
        status, j = self.sim.ctl("POST", "calls/transfer",
                                 body={"call_id": out, "to": "+33999999999"})
        self.assertEqual(status, 400, j)
        # the external side cannot transfer
        status, j = self.sim.ctl("POST", "calls/transfer",
                                 body={"call_id": out, "to": "2004",
                                       "by": "to"})
        self.assertEqual(status, 400, j)


class TestRecordings(TestCallEvents):
    def recorded_call(self):
        cid = self.ring("2000", "+33123456789", recording=True,
                        at=T0)["call_id"]
        self.step("answer", cid, T0 + 3)
        return self.step("hangup", cid, T0 + 30)

    def test_download_by_file_and_id(self):
        cdr = self.recorded_call()
        for query in ({"file": cdr["recording"]}, {"id": str(cdr["id"])}):
            status, j = self.sim.api("GET", "recording/download", self.tok,
                                     query=query)
            self.assertEqual(j["errcode"], 0, j)
            self.assertEqual(j["file"], cdr["recording"])
            url = j["download_resource_url"]
            self.assertTrue(url.startswith("/api/download/"), j)
            status, headers, data = self.sim.raw(
                "GET", url, query={"access_token": self.tok})
            self.assertEqual(status, 200, data[:200])
            self.assertEqual(headers["Content-Type"], "audio/wav")
            self.assertEqual(data[:4] + data[8:12], b"RIFFWAVE")
            self.assertEqual(struct.unpack("<I", data[4:8])[0] + 8, len(data))
            self.assertGreater(len(data), 1000)
        # the link wants the token, like the API
        status, _, data = self.sim.raw("GET", url)
        self.assertEqual(json.loads(data)["errcode"], 10002)
        status, _, data = self.sim.raw("GET", "/api/download/nope.wav",
                                       query={"access_token": self.tok})
        self.assertEqual(status, 404)

    def test_missing_recordings(self):
        cdr = self.recorded_call()
        plain = self.ring("2001", "2002", at=T0)["call_id"]
        self.step("answer", plain, T0 + 1)
        plain_cdr = self.step("hangup", plain, T0 + 9)
        self.assertEqual(plain_cdr["recording"], "")
        for query, field in (({}, "id"), ({"id": "abc"}, "id"),
                             ({"id": str(plain_cdr["id"])}, "id"),
                             ({"id": "99999"}, "id"),
                             ({"file": "nope.wav"}, "file"),
                             ({"id": str(cdr["id"]), "file": "x.wav"}, "id")):
            self.assertParamError(self.sim.api(
                "GET", "recording/download", self.tok, query=query), field)
        status, j = self.sim.api("GET", "recording/download", None,
                                 query={"file": cdr["recording"]})
        self.assertEqual(j["errcode"], 10002, j)


class TestDial(FeedCase):
    def dial(self, body, token=None):
        return self.sim.api("POST", "call/dial", token or self.tok, body=body)

    def test_dial_rings_caller_then_callee(self):
        ws = self.subscribe([30008, 30011])
        status, j = self.dial({"caller": "2000", "callee": "+33123456789"})
        self.assertEqual((status, j["errcode"]), (200, 0), j)
        cid = j["call_id"]
        status, calls = self.sim.ctl("GET", "calls")
        self.assertEqual([(c["call_id"], c["state"]) for c in calls],
                         [(cid, "ringing_caller")])
        t, m = event(ws)
        self.assertEqual(members(m), {"2000": ("extension", "RING")})
        self.assertEqual(event(ws)[1], {"extension": "2000",
                                        "status": "Ringing"})
        status, _ = self.sim.ctl("POST", "calls/answer",
                                 body={"call_id": cid})
        self.assertEqual(status, 200)
        t, m = event(ws)
        self.assertEqual(members(m), {"2000": ("extension", "ALERT"),
                                      "+33123456789": ("outbound", "RING")})
        self.assertEqual(event(ws)[1], {"extension": "2000", "status": "Busy"})
        status, j = self.sim.ctl("POST", "calls/answer",
                                 body={"call_id": cid})
        self.assertEqual(j["state"], "talking")

    def test_auto_answer_and_internal(self):
        status, j = self.dial({"caller": "2000", "callee": "2001",
                               "auto_answer": "yes",
                               "dial_permission": "2002"})
        self.assertEqual(j["errcode"], 0, j)
        status, calls = self.sim.ctl("GET", "calls")
        self.assertEqual((calls[0]["state"], calls[0]["type"]),
                         ("ringing", "Internal"))

    def test_dial_refusals(self):
        for body, field in (({"caller": "2999", "callee": "2001"}, "caller"),
                            ({"caller": "+33123456789", "callee": "2001"},
                             "caller"),
                            ({"callee": "2001"}, "caller"),
                            ({"caller": "2000"}, "callee"),
                            ({"caller": "2000", "callee": "abc"}, "callee"),
                            ({"caller": "2000", "callee": "2000"}, "callee"),
                            ({"caller": "2000", "callee": 2001}, "callee"),
                            ({"caller": "2000", "callee": "2001",
                              "auto_answer": "maybe"}, "auto_answer"),
                            ({"caller": "2000", "callee": "2001",
                              "dial_permission": "2999"}, "dial_permission"),
                            ({"caller": "2000", "callee": "2001", "x": 1},
                             "x"),
                            (b"not json", "body"), ([1], "body")):
            self.assertParamError(self.dial(body), field)
        self.assertEqual(self.sim.ctl("GET", "calls"), (200, []))
        status, j = self.sim.api("POST", "call/dial", "bad-token",
                                 body={"caller": "2000", "callee": "2001"})
        self.assertEqual(j["errcode"], 10002, j)
        status, j = self.sim.api("GET", "call/dial", self.tok)
        self.assertEqual(status, 405, j)


class Receiver(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.got.append((dict(self.headers), body))
        self.send_response(self.server.status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class TestWebhooks(TestCallEvents):
    SECRET = "0123456789abcdef0123456789abcdef"

    def receiver(self, status=200):
        srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
        srv.got, srv.status = [], status
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        self.addCleanup(srv.server_close)
        self.addCleanup(srv.shutdown)
        return srv

    def wait_for(self, pred, what):
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if pred():
                return
            time.sleep(0.05)
        self.fail("never happened: " + what)

    def test_signed_webhooks(self):
        good, bad = self.receiver(), self.receiver(500)
        for srv, events in ((good, [30011, 30012]), (bad, [30012])):
            status, j = self.sim.ctl("POST", "webhooks", body={
                "url": "http://127.0.0.1:%d/api/pbx/webhook/main"
                       % srv.server_address[1],
                "secret": self.SECRET, "events": events})
            self.assertEqual(status, 201, j)
        cid = self.ring("2000", "2001", at=T0)["call_id"]
        self.step("hangup", cid, T0 + 5)
        self.wait_for(lambda: len(good.got) >= 3, "3 events delivered")
        types = []
        for headers, body in good.got:
            want = base64.b64encode(hmac.new(self.SECRET.encode(), body,
                                             hashlib.sha256).digest())
            self.assertEqual(headers["X-Signature"].encode(), want)
            self.assertEqual(headers["Content-Type"], "application/json")
            env = json.loads(body)
            self.assertIsInstance(env["msg"], str)
            types.append(env["type"])
        self.assertEqual(types, [30011, 30011, 30012])
        self.wait_for(lambda: self.sim.ctl("GET", "webhooks")[1]["webhooks"][1]
                      ["failed"] == 1, "the failing receiver counted")
        status, j = self.sim.ctl("GET", "webhooks")
        self.assertEqual(j["webhooks"][0]["delivered"], 3)
        self.assertEqual(j["webhooks"][1]["last_status"], 500)

    def test_webhook_config_refusals(self):
        base = {"url": "http://127.0.0.1:9/x", "secret": self.SECRET,
                "events": [30012]}
        for bad in ({**base, "url": "https://127.0.0.1/x"},
                    {**base, "url": "http://:80/x"},
                    {**base, "url": "http://h:99999/x"},
                    {**base, "events": []}, {**base, "events": [1]},
                    {**base, "secret": ""}, {"url": base["url"]}):
            status, j = self.sim.ctl("POST", "webhooks", body=bad)
            self.assertEqual(status, 400, (bad, j))
        for _ in range(5):
            self.assertEqual(self.sim.ctl("POST", "webhooks", body=base)[0],
                             201)
        self.assertEqual(self.sim.ctl("POST", "webhooks", body=base)[0], 400)
        status, j = self.sim.ctl("POST", "webhooks/clear", body={})
        self.assertEqual((status, j["webhooks"]), (200, []))


class TestDemoCalls(FeedCase):
    def sim_args(self):
        return ("--demo-calls",)

    def test_calls_move_on_their_own(self):
        ws = self.subscribe([30011, 30012])
        statuses = set()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (
                {"RING", "ANSWER"} <= statuses and "cdr" in statuses):
            ws.sock.settimeout(30)
            text = ws.recv()
            if text == "heartbeat response":
                continue
            env = json.loads(text)
            if env["type"] == 30012:
                statuses.add("cdr")
            else:
                statuses |= {v[1] for v in
                             members(json.loads(env["msg"])).values()}
            ws.send("heartbeat")  # well within the idle limit
        self.assertLessEqual({"RING", "ANSWER", "cdr"}, statuses)


if __name__ == "__main__":
    unittest.main()

"""yeastar-gateway's live PBX event feed (docs/gateway.md, "Live events")
against the real simulator's WebSocket (/openapi/v1.0/subscribe) and a real
mosquitto: a call rings, is answered, held, taken off hold and ends, and
R/ext/<site>/<ext>/call and R/site/<site>/calls follow it and end idle; one
R/events/cdr per call although the webhook relay delivers the same events
again; a PBX refusing the WebSocket (/sim/ws/refuse) is logged clearly, the
site stays usable, and the feed comes back once allowed; a feed dropped
mid-call (/sim/ws/drop) reconnects and the call state converges; presence
changed on the phone (30009) is drift at once, without the read-back;
registration (30007) shows in `registered`; the feed carries on across a
token refresh and over wss:// with the site's CA file; malformed relayed
events are refused with an R/events/error and change nothing."""
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import time
import unittest
import urllib.request

from harness import Stack, rfc3339

CALLER = "+33123456789"


def desired(status):
    return json.dumps({"status": status, "cause": "schedule",
                       "since": rfc3339(time.time()), "next_change": None,
                       "slot": None, "override": None})


class Feed(unittest.TestCase):
    def make(self, env=None, before=None):
        self.stack = Stack(f"75_gateway_{self._testMethodName}",
                           sim_args=["--extensions", "5"], env=env or {})
        if before:
            before(self.stack)
        since = time.time()
        self.stack.start("yeastar-gateway")
        self.stack.bus.wait("site/main/directory", since=since)
        return self.stack

    def tearDown(self):
        codes = self.stack.stop()
        self.assertEqual(self.stack.sanitizer_reports(), [])
        for name, code in codes.items():
            self.assertIn(code, (0, -9), f"{name} exited with {code}")

    def sim_https(self, path, body=None):
        """The simulator's control API when it serves HTTPS."""
        req = urllib.request.Request(
            f"https://127.0.0.1:{self.stack.sim_port}{path}",
            data=json.dumps(body).encode() if body is not None else None,
            method="POST" if body is not None else "GET",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10, context=self.tls) as r:
            return json.loads(r.read() or b"{}")

    def wait_subscribed(self, count=1, timeout=20.0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            ws = (self.sim_https("/sim/ws") if getattr(self, "tls", None)
                  else self.stack.sim_get("/sim/ws"))
            subscribed = [c for c in ws["connections"] if c.get("topic_list")]
            if ws["subscribed"] >= count and subscribed:
                self.assertEqual(sorted(subscribed[-1]["topic_list"]),
                                 [30007, 30008, 30009, 30011, 30012])
                return ws
            time.sleep(0.1)
        self.fail(f"the gateway's feed is not subscribed: {ws}")

    def call_state(self, ext, pred, since, timeout=15.0):
        return self.stack.bus.wait(f"ext/main/{ext}/call", pred, timeout=timeout,
                                   since=since)

    def relay(self, event_type, msg):
        """The same event as web-api's webhook relay publishes it."""
        self.stack.bus.publish("site/main/pbx_event", json.dumps(
            {"type": event_type, "sn": "3631A2124XXX", "msg": json.dumps(msg)}))

    def cdrs(self, call_id):
        return [json.loads(p) for _, t, p, _ in list(self.stack.bus.messages)
                if t == "events/cdr" and json.loads(p).get("call_id") == call_id]

    def test_call_rings_answers_holds_ends(self):
        s = self.make()
        self.wait_subscribed()
        # Every extension of the directory starts idle (retained).
        st = self.call_state("2001", lambda p: p["state"] == "idle", 0)
        self.assertEqual((st["call_id"], st["since"]), (None, None))
        self.assertIsInstance(st["registered"], list)
        s.bus.wait("site/main/calls", lambda p: p["calls"] == [])
        since = time.time()
        call = s.sim_post("/sim/calls", {"from": CALLER, "to": "2001"})
        cid = call["call_id"]
        st = self.call_state("2001", lambda p: p["state"] == "ringing", since)
        self.assertEqual((st["call_id"], st["direction"], st["peer"]),
                         (cid, "inbound", CALLER))
        self.assertIsNotNone(st["since"])
        calls = s.bus.wait("site/main/calls", lambda p: len(p["calls"]) == 1, since=since)
        c = calls["calls"][0]
        self.assertEqual((calls["site"], c["call_id"], c["state"], c["direction"],
                          c["from"], c["to"], c["answered"]),
                         ("main", cid, "ringing", "inbound", CALLER, "2001", None))
        self.assertEqual(sorted((m["kind"], m["number"]) for m in c["members"]),
                         [("extension", "2001"), ("inbound", CALLER)])

        for step, want in (("answer", "talking"), ("hold", "hold"),
                           ("unhold", "talking")):
            t = time.time()
            s.sim_post(f"/sim/calls/{step}", {"call_id": cid})
            st = self.call_state("2001", lambda p, w=want: p["state"] == w, t)
            self.assertEqual(st["call_id"], cid)
            s.bus.wait("site/main/calls",
                       lambda p, w=want: p["calls"] and p["calls"][0]["state"] == w,
                       since=t)
        answered = s.bus.wait("site/main/calls", lambda p: p["calls"]
                              and p["calls"][0]["answered"] is not None, since=since)
        self.assertEqual(answered["calls"][0]["call_id"], cid)

        t = time.time()
        s.sim_post("/sim/calls/hangup", {"call_id": cid})
        st = self.call_state("2001", lambda p: p["state"] == "idle", t)
        self.assertEqual((st["call_id"], st["direction"], st["peer"]), (None, None, None))
        s.bus.wait("site/main/calls", lambda p: p["calls"] == [], since=t)
        cdr = s.bus.wait("events/cdr", lambda p: p["call_id"] == cid, since=t)
        self.assertEqual((cdr["site"], cdr["from"], cdr["to"], cdr["direction"],
                          cdr["status"], cdr["extension"], cdr["service"]),
                         ("main", CALLER, "2001", "inbound", "answered", "2001",
                          "yeastar-gateway"))

        # The webhook relay brings the same call's events again: nothing new.
        cdr_msg = {"call_id": cid, "time_start": time.strftime("%m/%d/%Y %H:%M:%S"),
                   "call_from": CALLER, "call_to": "2001", "call_duration": 10,
                   "talk_duration": 8, "src_trunk_name": "", "dst_trunk_name": "",
                   "pin_code": "", "status": "ANSWERED", "type": "inbound",
                   "recording": "", "did_number": "", "agent_ring_time": 0}
        late = time.time()
        self.relay(30012, cdr_msg)
        self.relay(30011, {"call_id": cid, "members": [
            {"inbound": {"from": CALLER, "to": "2001", "trunk_name": "",
                         "channel_id": "x", "member_status": "ANSWERED"}},
            {"extension": {"number": "2001", "channel_id": "y",
                           "member_status": "ANSWER"}}]})
        # A marker after them: once it is handled, so are they.
        self.relay(30009, {"extension": "2002", "status": "available"})
        time.sleep(1.0)
        self.assertEqual(len(self.cdrs(cid)), 1)
        later = [json.loads(p) for t0, top, p, _ in list(s.bus.messages)
                 if t0 >= late and top == "ext/main/2001/call"]
        self.assertEqual(later, [], "a relayed copy changed the call state")
        self.assertEqual(json.loads(s.bus.last("ext/main/2001/call"))["state"], "idle")

        # A CDR relayed before any feed event (webhook only) is published once.
        other = dict(cdr_msg, call_id="1700000000.77")
        self.relay(30012, other)
        self.relay(30012, other)
        s.bus.wait("events/cdr", lambda p: p["call_id"] == "1700000000.77", since=late)
        time.sleep(1.0)
        self.assertEqual(len(self.cdrs("1700000000.77")), 1)

    def test_outbound_call_and_registration(self):
        s = self.make()
        self.wait_subscribed()
        since = time.time()
        call = s.sim_post("/sim/calls", {"from": "2003", "to": "0612345678"})
        st = self.call_state("2003", lambda p: p["state"] == "dialing", since)
        self.assertEqual((st["call_id"], st["direction"], st["peer"]),
                         (call["call_id"], "outbound", "0612345678"))
        s.sim_post("/sim/calls/hangup", {"call_id": call["call_id"],
                                         "status": "NO ANSWER"})
        self.call_state("2003", lambda p: p["state"] == "idle", since)
        cdr = s.bus.wait("events/cdr", lambda p: p["call_id"] == call["call_id"],
                         since=since)
        self.assertEqual((cdr["status"], cdr["direction"], cdr["answer"]),
                         ("no_answer", "outbound", None))
        t = time.time()
        s.sim_post("/sim/register", {"number": "2004", "kind": "Mobile",
                                     "status": "Registered"})
        st = self.call_state("2004", lambda p: "linkus_mobile" in p["registered"], t)
        self.assertEqual(st["state"], "idle")

    def test_refused_then_allowed(self):
        s = self.make(before=lambda st: st.sim_post("/sim/ws/refuse", {"refuse": True}))
        deadline = time.time() + 20
        log = ""
        while time.time() < deadline:
            log = s.procs["yeastar-gateway"].log()
            if "HTTP 503" in log:
                break
            time.sleep(0.2)
        line = [l for l in log.splitlines() if "event feed" in l and "HTTP 503" in l]
        self.assertTrue(line, "no log line says the PBX refused the feed")
        self.assertIn("again in", line[0])
        self.assertIn("/openapi/v1.0/subscribe", line[0])
        self.assertNotRegex(log, r"access_token=\w", "a token in the log")
        # The site stays usable: status ok, and a desired status is applied.
        st = s.bus.wait("site/main/status", lambda p: p["state"] == "ok")
        self.assertFalse(st["error"])
        s.bus.publish("ext/main/2001/desired", desired("lunch"), retain=True)
        s.wait_sim_update(2, "lunch")
        self.assertEqual(s.sim_get("/sim/ws")["subscribed"], 0)
        s.sim_post("/sim/ws/refuse", {"refuse": False})
        self.wait_subscribed(timeout=40)
        self.wait_log("subscribed (30007")

    def wait_log(self, text, timeout=10.0):
        deadline = time.time() + timeout
        while text not in self.stack.procs["yeastar-gateway"].log():
            self.assertLess(time.time(), deadline, f"no '{text}' in the log")
            time.sleep(0.1)

    def test_dropped_mid_call_converges(self):
        s = self.make(env={"CALL_STALE_SECONDS": "60"})
        self.wait_subscribed()
        since = time.time()
        call = s.sim_post("/sim/calls", {"from": CALLER, "to": "2002"})
        cid = call["call_id"]
        s.sim_post("/sim/calls/answer", {"call_id": cid})
        self.call_state("2002", lambda p: p["state"] == "talking", since)
        # Cut under the gateway: it comes back, and the call goes on.
        s.sim_post("/sim/ws/drop", {})
        self.wait_subscribed(count=2)
        t = time.time()
        s.sim_post("/sim/calls/hold", {"call_id": cid})
        self.call_state("2002", lambda p: p["state"] == "hold", t)
        t = time.time()
        s.sim_post("/sim/calls/hangup", {"call_id": cid})
        self.call_state("2002", lambda p: p["state"] == "idle", t)
        s.bus.wait("events/cdr", lambda p: p["call_id"] == cid, since=t)
        self.assertEqual(len(self.cdrs(cid)), 1)
        # A call whose end is lost with the feed still ends: the stale limit.
        t = time.time()
        call = s.sim_post("/sim/calls", {"from": CALLER, "to": "2003"})
        s.sim_post("/sim/calls/answer", {"call_id": call["call_id"]})
        self.call_state("2003", lambda p: p["state"] == "talking", t)
        s.sim_post("/sim/ws/refuse", {"refuse": True})
        s.sim_post("/sim/ws/drop", {})
        s.sim_post("/sim/calls/hangup", {"call_id": call["call_id"]})
        st = self.call_state("2003", lambda p: p["state"] == "idle", t, timeout=90)
        self.assertGreaterEqual(time.time() - t, 55, "ended before the stale limit")
        self.assertIsNone(st["call_id"])
        self.wait_log("CALL_STALE_SECONDS")

    def test_token_refresh_keeps_the_feed(self):
        # 20 s tokens: the gateway refreshes after about 16 s; the simulator
        # closes a connection whose token was refreshed away (1008).
        self.stack = Stack(f"75_gateway_{self._testMethodName}",
                           sim_args=["--extensions", "5", "--token-lifetime", "20"])
        s = self.stack
        since = time.time()
        s.start("yeastar-gateway")
        s.bus.wait("site/main/directory", since=since)
        self.wait_subscribed()
        deadline = time.time() + 45
        while time.time() < deadline:
            ws = s.sim_get("/sim/ws")
            if ws["subscribed"] >= 2:
                break
            time.sleep(0.1)
        self.assertGreaterEqual(ws["subscribed"], 2, ws)
        # Either the gateway noticed the new token first (a second connection,
        # then the switch) or the simulator closed the old one first (opened
        # again at once).
        deadline = time.time() + 10
        while not re.search(r"moved to the new token|again with the new token",
                            s.procs["yeastar-gateway"].log()):
            self.assertLess(time.time(), deadline, "no switch to the new token logged")
            time.sleep(0.1)
        log = s.procs["yeastar-gateway"].log()
        self.assertNotIn("again in", log, "the refresh went through the backoff")
        self.assertNotRegex(log, r"access_token=\w")
        t = time.time()
        call = s.sim_post("/sim/calls", {"from": CALLER, "to": "2001"})
        st = self.call_state("2001", lambda p: p["state"] == "ringing", t)
        self.assertEqual(st["call_id"], call["call_id"])

    def test_wss_with_the_sites_ca_file(self):
        # The PBX over HTTPS: the feed is wss:// and trusts YEASTAR_CA_FILE.
        tmp = tempfile.mkdtemp(prefix="pb-75-tls-")
        self.addCleanup(shutil.rmtree, tmp, True)
        cert, key = os.path.join(tmp, "pbx.pem"), os.path.join(tmp, "pbx.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        self.stack = Stack(f"75_gateway_{self._testMethodName}",
                           sim_args=["--extensions", "5", "--tls-cert", cert,
                                     "--tls-key", key])
        s = self.stack
        self.tls = ssl.create_default_context(cafile=cert)
        s.env["YEASTAR_PBX_URL"] = f"https://127.0.0.1:{s.sim_port}"
        s.env["YEASTAR_CA_FILE"] = cert
        since = time.time()
        s.start("yeastar-gateway")
        s.bus.wait("site/main/directory", since=since)
        self.wait_subscribed()
        self.wait_log(f"wss://127.0.0.1:{s.sim_port}/openapi/v1.0/subscribe subscribed")
        t = time.time()
        call = self.sim_https("/sim/calls", {"from": CALLER, "to": "2002"})
        st = self.call_state("2002", lambda p: p["state"] == "ringing", t)
        self.assertEqual(st["call_id"], call["call_id"])

    def test_heartbeat_keeps_it_open(self):
        # The PBX closes a connection idle for 60 s: the heartbeat (25 s)
        # keeps the one connection open past that.
        s = self.make()
        self.wait_subscribed()
        time.sleep(62)
        ws = s.sim_get("/sim/ws")
        self.assertEqual((ws["opened"], ws["idle_closed"]), (1, 0), ws)
        self.assertGreaterEqual(ws["connections"][0]["open_seconds"], 60)
        # A PBX that closes idle connections sooner than the heartbeat: the
        # gateway hears the close and opens again.
        s.sim_post("/sim/ws/refuse", {"refuse": False, "idle_timeout": 2})
        deadline = time.time() + 30
        while s.sim_get("/sim/ws")["idle_closed"] < 1:
            self.assertLess(time.time(), deadline, "the simulator never closed it")
            time.sleep(0.2)
        self.wait_subscribed(count=2)
        self.wait_log("the server closed the connection (code 1000)")

    def test_presence_drift_at_once(self):
        s = self.make(env={"PBX_READBACK_SECONDS": "0"})
        self.wait_subscribed()
        s.bus.publish("ext/main/2001/desired", desired("lunch"), retain=True)
        s.wait_sim_update(2, "lunch")
        time.sleep(2.2)  # past the grace after our own change (docs/gateway.md)
        since = time.time()
        s.sim_post("/sim/presence", {"number": "2001", "presence_status": "away"})
        ev = s.bus.wait("events/drift", since=since, timeout=10)
        self.assertEqual((ev["ext"], ev["status"], ev["source"]),
                         ("2001", "away", "pbx_feed"))

    def test_malformed_relayed_events(self):
        s = self.make()
        since = time.time()
        for msg in ({"call_id": "9.1", "members": [{"extension": {
                        "number": "2001", "member_status": "DANCING"}}]},
                    {"members": []}):
            self.relay(30011, msg)
        s.bus.publish("site/main/pbx_event", "not json")
        errors = []
        deadline = time.time() + 10
        while len(errors) < 3 and time.time() < deadline:
            errors = [json.loads(p) for t, top, p, _ in list(s.bus.messages)
                      if t >= since and top == "events/error"]
            time.sleep(0.1)
        self.assertEqual(len(errors), 3)
        self.assertIn("DANCING", errors[0]["error"])
        self.assertIn("call_id", errors[1]["error"])
        time.sleep(0.5)
        self.assertIsNone(s.bus.last("ext/main/2001/call"))
        self.assertTrue(re.search(r"refused message on site/main/pbx_event",
                                  s.procs["yeastar-gateway"].log()))


if __name__ == "__main__":
    unittest.main(verbosity=2)

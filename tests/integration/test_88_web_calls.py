"""web-api's calls against the running stack (the PBX simulator and the five
services): the live call state and a site's calls from the bus into the
extensions API; the call log, its filters, the CSV export and the
statistics from call-log; who sees which calls (a readonly user and its
extensions); click-to-call reaching the simulator's call/dial; a real
recording of a simulated call streamed whole and by Range, and audited;
bad input and a service that is down. The CDRs are published on
R/events/cdr by the test (as the gateway would), so this test does not
depend on how they reach the bus."""
import json
import time
import unittest

from harness import Stack
from web_client import ADMIN_PASSWORD, EventStream, Web, admin_token

CALLER = "+33612345678"


def cdr_event(call_id, **kw):
    ev = {"site": "main", "call_id": call_id, "start": "2026-11-23T09:00:00+01:00",
          "answer": "2026-11-23T09:00:05+01:00", "end": "2026-11-23T09:01:40+01:00",
          "from": CALLER, "to": "2000", "direction": "inbound", "status": "answered",
          "talk_seconds": 95, "ring_seconds": 5, "trunk": "SIP-Orange",
          "recording": None, "extension": "2000",
          "kind": "cdr", "at": "2026-11-23T08:01:41Z", "service": "yeastar-gateway"}
    ev.update(kw)
    return ev


class WebCalls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack("88_web_calls", sim_args=["--extensions", "3"],
                          env={"WEB_ADMIN_PASSWORD": ADMIN_PASSWORD}).start()
        cls.stack.bus.wait("site/main/directory", lambda p: len(p["extensions"]) == 3)
        cls.port = cls.stack.web_port
        cls.web = Web(cls.port, token=admin_token(cls.port))
        # A readonly user, bob, whose extension is 2000.
        status, body, _ = cls.web.post("/api/users", {"name": "bob", "password": "bob-s3cret-Pw!x",
                                                      "role": "readonly"})
        assert status == 201, body
        status, body, _ = cls.web.put("/api/users/bob/extensions", {"extensions": ["2000"]})
        assert status == 200, body
        cls.bob = Web(cls.port, token=admin_token(cls.port, name="bob", role="readonly",
                                                  user="bob", password="bob-s3cret-Pw!x"))
        # The call log: three calls, one of 2001's.
        for ev in (cdr_event("900.1"),
                   cdr_event("900.2", status="no_answer", answer=None, talk_seconds=0,
                             ring_seconds=30),
                   cdr_event("900.3", to="2001", extension="2001", trunk="=cmd|' /C calc'!A0")):
            cls.stack.bus.publish("events/cdr", json.dumps(ev))
        cls.wait_for(lambda: cls.web.get("/api/calls?number=0612345678")[1].get("total") == 3,
                     "call-log has the three calls")

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.stop()
        assert cls.stack.sanitizer_reports() == [], cls.stack.sanitizer_reports()
        assert all(c == 0 for c in codes.values()), codes

    @staticmethod
    def wait_for(pred, what, timeout=20.0):
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            try:
                if pred():
                    return
            except (KeyError, TypeError, AttributeError) as e:
                last = e
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting: {what} ({last})")

    # ---- live state from the bus ----
    def test_live_call_state(self):
        call = {"state": "talking", "since": "2026-11-23T09:00:05+01:00", "call_id": "77.1",
                "direction": "inbound", "peer": CALLER, "trunk": "SIP-Orange",
                "registered": ["sip_phone"], "updated_at": "2026-11-23T09:00:05+01:00"}
        self.stack.bus.publish("ext/main/2001/call", json.dumps(call), retain=True)
        self.wait_for(lambda: (self.web.get("/api/extensions/2001")[1]["call"] or {})
                      .get("state") == "talking", "2001 on a call")
        _, one, _ = self.web.get("/api/extensions/2001")
        self.assertEqual(one["call"]["peer"], CALLER)
        # Refused payloads leave it as it was.
        self.stack.bus.publish("ext/main/2001/call", '{"state":"dancing"}', retain=True)
        self.stack.bus.publish("ext/main/2001/call", '{"state":"ringing"}', retain=True)
        self.stack.bus.publish("ext/main/2001/call", json.dumps(dict(call, peer="+331")),
                               retain=True)
        self.wait_for(lambda: self.web.get("/api/extensions/2001")[1]["call"]["peer"] == "+331",
                      "the valid one after the bad ones")
        self.stack.bus.publish("ext/main/2001/call", '{"state":"idle"}', retain=True)
        self.wait_for(lambda: self.web.get("/api/extensions/2001")[1]["call"]["state"] == "idle",
                      "2001 idle")
        # The list carries it too.
        _, lst, _ = self.web.get("/api/extensions")
        self.assertIn("call", lst["extensions"][0])

    def test_site_calls(self):
        # A site this stack's gateway does not serve: the gateway owns its
        # sites' retained calls topic and puts back what it knows.
        calls = {"site": "branch", "updated_at": "2026-11-23T09:00:05+01:00", "calls": [
            {"call_id": "77.2", "state": "ringing", "direction": "inbound", "from": CALLER,
             "to": "2002", "trunk": None, "started": "2026-11-23T09:00:00+01:00",
             "answered": None, "members": [
                 {"number": "2002", "kind": "extension", "state": "ringing"},
                 {"number": CALLER, "kind": "inbound", "state": "dialing"}]}]}
        self.stack.bus.publish("site/branch/calls", json.dumps(calls), retain=True)
        self.wait_for(lambda: len(self.bob.get("/api/sites/branch/calls")[1]["calls"]) == 1,
                      "the site's call")
        _, body, _ = self.bob.get("/api/sites/branch/calls")
        self.assertEqual(body["calls"][0]["call_id"], "77.2")
        # Another site's list on this topic, a bad one: ignored.
        self.stack.bus.publish("site/branch/calls", '{"site":"other","calls":[]}', retain=True)
        self.stack.bus.publish("site/branch/calls", '{"site":"branch","calls":"none"}', retain=True)
        time.sleep(0.3)
        self.assertEqual(len(self.bob.get("/api/sites/branch/calls")[1]["calls"]), 1)
        self.assertEqual(self.bob.get("/api/sites/nowhere/calls")[0], 404)
        self.assertEqual(self.bob.get("/api/sites/bad.site/calls")[0], 400)
        self.stack.bus.publish("site/branch/calls", json.dumps(dict(calls, calls=[])), retain=True)
        self.wait_for(lambda: self.bob.get("/api/sites/branch/calls")[1]["calls"] == [],
                      "no call left")

    # ---- the call log ----
    def test_search_and_filters(self):
        status, body, _ = self.web.get("/api/calls?number=06%2012%2034%2056%2078&status=no_answer")
        self.assertEqual(status, 200, body)
        self.assertEqual([c["call_id"] for c in body["cdrs"]], ["900.2"])
        status, body, _ = self.web.get("/api/extensions/2001/calls")
        self.assertEqual([c["call_id"] for c in body["cdrs"]], ["900.3"])
        status, body, _ = self.web.get("/api/calls?number=0612345678&page_size=2&page=2")
        self.assertEqual(status, 200, body)
        self.assertEqual(len(body["cdrs"]), 1)
        for query, name in (("direction=sideways", "direction"), ("status=lost", "status"),
                            ("page_size=5000", "page_size"), ("number=abc", "number"),
                            ("format=xml", "format"), ("ext=a.b", "ext")):
            status, body, _ = self.web.get("/api/calls?" + query)
            self.assertEqual(status, 400, query)
            self.assertIn(name, body["error"])
        status, body, _ = self.web.get("/api/calls/stats?group=year")
        self.assertEqual(status, 400)

    def test_csv_export(self):
        status, text, headers = self.web.get("/api/calls?number=0612345678&format=csv")
        self.assertEqual(status, 200, text)
        self.assertTrue(headers["Content-Type"].startswith("text/csv"))
        self.assertIn("attachment", headers["Content-Disposition"])
        lines = text.split("\r\n")
        self.assertEqual(lines[0].split(",")[:3], ["site", "call_id", "start"])
        self.assertEqual(len([x for x in lines[1:] if x]), 3)
        # Formula-looking cells are defused: the number and the trunk.
        self.assertIn(",'+33612345678,", text)
        self.assertIn("'=cmd|' /C calc'!A0", text)
        self.assertNotIn(",=cmd", text)
        status, text, _ = self.web.get("/api/calls?ext=2001", headers={"Accept": "text/csv"})
        self.assertEqual(len([x for x in text.split("\r\n")[1:] if x]), 1)

    def test_stats(self):
        status, body, _ = self.web.get("/api/calls/stats?from=2026-11-01T00:00:00%2B01:00"
                                       "&to=2026-12-01T00:00:00%2B01:00")
        self.assertEqual(status, 200, body)
        by_ext = {x["ext"]: x for x in body["extensions"]}
        self.assertEqual(by_ext["2000"]["calls"], 2)
        self.assertEqual(by_ext["2000"]["answered"], 1)
        self.assertEqual(by_ext["2000"]["missed"], 1)
        self.assertEqual(by_ext["2001"]["calls"], 1)

    def test_readonly_sees_its_own(self):
        status, body, _ = self.bob.get("/api/calls?number=0612345678")
        self.assertEqual(status, 200, body)
        self.assertEqual(sorted(c["call_id"] for c in body["cdrs"]), ["900.1", "900.2"])
        status, body, _ = self.bob.get("/api/calls?ext=2001")
        self.assertEqual(status, 403)
        status, body, _ = self.bob.get("/api/extensions/2001/calls")
        self.assertEqual(status, 403)
        status, body, _ = self.bob.get("/api/calls/stats")
        self.assertEqual(status, 200, body)
        self.assertEqual([x["ext"] for x in body["extensions"]], ["2000"])
        status, body, _ = self.bob.get("/api/session")
        self.assertEqual(body["extensions"], [{"site": "main", "ext": "2000"}])
        # Only an admin sets extensions.
        status, body, _ = self.bob.put("/api/users/bob/extensions", {"extensions": ["2001"]})
        self.assertEqual(status, 403)
        status, body, _ = self.web.put("/api/users/bob/extensions", {"extensions": "2001"})
        self.assertEqual(status, 400)
        status, body, _ = self.web.put("/api/users/nobody/extensions", {"extensions": []})
        self.assertEqual(status, 404)

    def test_cdr_events_only_to_owners(self):
        # As the call log: a finished call reaches an admin's stream and
        # the stream of the user who owns its extension, no other.
        streams = {"bob": EventStream(self.port, self.bob.token),
                   "admin": EventStream(self.port, self.web.token)}
        october = dict(start="2026-10-02T09:00:00+02:00", answer="2026-10-02T09:00:05+02:00",
                       end="2026-10-02T09:01:40+02:00", **{"from": "+33677777777"})
        for cid, ext in (("950.1", "2002"), ("950.3", None), ("950.2", "2000")):
            self.stack.bus.publish("events/cdr", json.dumps(
                cdr_event(cid, to=ext or "+33100000000", extension=ext, **october)))
        seen = {}
        for who, es in streams.items():
            # The last one published ends the reading.
            ids = [json.loads(e["data"])["call_id"] for e in es.events(
                lambda e: e["event"] == "cdr" and '"950.2"' in e["data"])
                if e["event"] == "cdr"]
            seen[who] = ids
            es.close()
        self.assertEqual(seen["admin"], ["950.1", "950.3", "950.2"])
        self.assertEqual(seen["bob"], ["950.2"])

    # ---- click-to-call ----
    def dial_requests(self):
        return [r for r in self.stack.sim_get("/sim/requests") if r["path"].endswith("/call/dial")]

    def test_click_to_call(self):
        before = len(self.dial_requests())
        status, body, _ = self.bob.post("/api/calls", {"ext": "2000", "number": "+33 1 23 45 67 89"})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["ext"], "2000")
        self.assertEqual(body["number"], "+33123456789")
        dials = self.dial_requests()
        self.assertEqual(len(dials), before + 1)
        sent = json.loads(dials[-1]["body"])
        self.assertEqual((sent["caller"], sent["callee"]), ("2000", "+33123456789"))
        # Refused: not bob's extension, not a number, an unknown extension.
        status, body, _ = self.bob.post("/api/calls", {"ext": "2001", "number": "2002"})
        self.assertEqual(status, 403)
        status, body, _ = self.web.post("/api/calls", {"ext": "2000", "number": "call me"})
        self.assertEqual(status, 400)
        self.assertIn("not a phone number", body["error"])
        status, body, _ = self.web.post("/api/calls", {"ext": "9999", "number": "2001"})
        self.assertEqual(status, 400, body)
        self.assertEqual(body["service"], "yeastar-gateway")
        self.assertIn("9999", body["error"])
        self.assertEqual(len(self.dial_requests()), before + 1)
        _, logs, _ = self.web.get("/api/logs?kind=call")
        self.assertGreaterEqual(logs["total"], 2)

    # ---- recordings ----
    def test_recording(self):
        # Not CALLER: the gateway may publish this call's CDR before the
        # test does, and either is the one call-log keeps.
        call = self.stack.sim_post("/sim/calls", {"from": "+33699999999", "to": "2000",
                                                  "recording": True})
        cid = call["call_id"]
        self.stack.sim_post("/sim/calls/answer", {"call_id": cid})
        cdr = self.stack.sim_post("/sim/calls/hangup", {"call_id": cid})
        self.assertTrue(cdr["recording"])
        # Another caller, and October: the other tests' counts stay as they are.
        self.stack.bus.publish("events/cdr", json.dumps(cdr_event(
            cid, recording=cdr["recording"], start="2026-10-01T09:00:00+02:00",
            answer="2026-10-01T09:00:05+02:00", end="2026-10-01T09:01:40+02:00",
            **{"from": "+33699999999"})))
        self.wait_for(lambda: any(c["call_id"] == cid for c in
                                  self.web.get("/api/calls?ext=2000&page_size=100")[1]["cdrs"]),
                      "the recorded call in the log")
        path = f"/api/calls/main/{cid}/recording"
        status, data, headers = self.bob.request("GET", path)
        self.assertEqual(status, 200, data)
        self.assertEqual(headers["Content-Type"], "audio/wav")
        self.assertEqual(headers["Accept-Ranges"], "bytes")
        self.assertTrue(data.startswith("RIFF"))
        size = int(headers["Content-Length"])
        self.assertGreater(size, 1000)
        status, data, headers = self.bob.request("GET", f"/api/calls/{cid}/recording?site=main",
                                                 headers={"Range": "bytes=0-99"})
        self.assertEqual(status, 206, data)
        self.assertEqual(headers["Content-Range"], f"bytes 0-99/{size}")
        self.assertEqual(headers["Content-Length"], "100")
        status, _, headers = self.bob.request("GET", path, headers={"Range": f"bytes={size + 10}-"})
        self.assertEqual(status, 416)
        self.assertEqual(headers.get("Content-Range"), f"bytes */{size}")
        # The PBX's link and token never reach the browser.
        self.assertNotIn("download", json.dumps(headers))
        _, logs, _ = self.web.get("/api/logs?kind=recording")
        self.assertTrue(any(e["actor"] == "bob" for e in logs["entries"]), logs)
        # Another's call, a call without recording, an unknown call.
        status, body, _ = self.bob.get("/api/calls/main/900.3/recording")
        self.assertEqual(status, 403)
        status, body, _ = self.web.get("/api/calls/main/900.1/recording")
        self.assertEqual(status, 404)
        self.assertIn("no recording", body["error"])
        status, body, _ = self.web.get("/api/calls/main/123.456/recording")
        self.assertEqual(status, 404)
        status, body, _ = self.web.get("/api/calls/main/bad;id/recording")
        self.assertEqual(status, 400)

    # Last (alphabetical order): call-log stopped.
    def test_zz_call_log_down(self):
        self.stack.procs["call-log"].stop()
        self.wait_for(lambda: self.web.get("/api/calls")[0] == 504, "call-log offline")
        for path in ("/api/calls", "/api/calls/stats", "/api/calls?format=csv",
                     "/api/calls/main/900.1/recording"):
            status, body, _ = self.web.get(path)
            self.assertEqual(status, 504, path)
            self.assertIn("call-log", body["error"])


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""yeastar-gateway's call requests against a real mosquitto and the PBX
simulator: cdr/search (calls made on the simulator come back normalised,
paged, times sent as Unix seconds; bad input refused before the PBX is
asked; a PBX failing the search named), recording/get (chunks that add up
to the PBX's file, fetched once, kept in RECORDINGS_DIR across a restart;
the download link and the token never on the bus; a missing recording),
and call/dial (the PBX rings the extension, the call id answered; an
unknown extension or a number that is not one refused without asking the
PBX)."""
import base64
import json
import os
import time
import unittest

from gateway_case import GatewayCase
from harness import parse_time, rfc3339


class Calls(GatewayCase):
    area = "76"

    def request(self, action, body):
        return self.stack.bus.request("yeastar-gateway", action, body, timeout=20)

    def sim_requests(self, endpoint):
        return [r for r in self.stack.sim_get("/sim/requests")
                if r["path"].endswith("/openapi/v1.0/" + endpoint)]

    def call(self, frm, to, ring, answer=None, hangup=None, status=None,
             recording=False):
        """A call on the simulator at chosen instants; its CDR."""
        s = self.stack
        c = s.sim_post("/sim/calls", {"from": frm, "to": to, "at": ring,
                                      "recording": recording})
        if answer is not None:
            s.sim_post("/sim/calls/answer", {"call_id": c["call_id"], "at": answer})
        body = {"call_id": c["call_id"], "at": hangup}
        if status:
            body["status"] = status
        return s.sim_post("/sim/calls/hangup", body)

    def assert_nothing_leaks(self):
        """Neither the PBX's download link nor a token reaches the bus."""
        for m in self.stack.bus.messages:
            self.assertNotIn("/api/download/", m[2], m[1])
            self.assertNotIn("access_token", m[2], m[1])

    def test_cdr_search(self):
        self.make(n=10)
        self.start_gateway(n=10)
        t0 = int(time.time()) - 3600
        a = self.call("+33123456789", "2001", t0, answer=t0 + 5, hangup=t0 + 100,
                      recording=True)
        b = self.call("2002", "0612345678", t0 + 200, hangup=t0 + 230, status="BUSY")
        c = self.call("2003", "2004", t0 + 300, answer=t0 + 302, hangup=t0 + 310)
        window = {"site": "main", "start": rfc3339(t0 - 1), "end": rfc3339(t0 + 400)}
        r = self.request("cdr/search", dict(window, page=1, page_size=500))
        self.assertEqual(r["status"], "ok", r)
        d = r["data"]
        self.assertEqual((d["site"], d["total"], d["skipped"], d["page"]),
                         ("main", 3, 0, 1))
        by_id = {x["call_id"]: x for x in d["cdrs"]}
        self.assertEqual(set(by_id), {a["uid"], b["uid"], c["uid"]})
        x = by_id[a["uid"]]
        self.assertEqual((x["from"], x["to"], x["direction"], x["status"]),
                         ("+33123456789", "2001", "inbound", "answered"))
        self.assertEqual((x["ring_seconds"], x["talk_seconds"], x["extension"]),
                         (5, 95, "2001"))
        self.assertTrue(x["start"].endswith(("+01:00", "+02:00")), x)  # TIMEZONE
        self.assertEqual(parse_time(x["start"]), t0)
        self.assertEqual(parse_time(x["answer"]), t0 + 5)
        self.assertEqual(parse_time(x["end"]), t0 + 100)
        self.assertTrue(x["recording"].endswith(".wav"), x)
        y = by_id[b["uid"]]
        self.assertEqual((y["direction"], y["status"], y["answer"], y["talk_seconds"],
                          y["extension"], y["recording"]),
                         ("outbound", "busy", None, 0, "2002", None))
        z = by_id[c["uid"]]
        self.assertEqual((z["direction"], z["status"], z["extension"]),
                         ("internal", "answered", "2003"))
#The PBX was asked with Unix seconds, the page as asked.
        q = self.sim_requests("cdr/search")[-1]["query"]
        self.assertIn(f"start_time={t0 - 1}", q)
        self.assertIn(f"end_time={t0 + 400}", q)
        self.assertIn("page_size=500", q)
#Pages.
        pages = [self.request("cdr/search", dict(window, page=p, page_size=2))["data"]
                 for p in (1, 2, 3)]
        self.assertEqual([len(p["cdrs"]) for p in pages], [2, 1, 0])
        self.assertEqual({x["call_id"] for p in pages for x in p["cdrs"]}, set(by_id))
        self.assertTrue(all(p["total"] == 3 for p in pages))
#Refused before the PBX is asked.
        asked = len(self.sim_requests("cdr/search"))
        for body, words in (({"page_size": 0}, "page_size"),
                            ({"page_size": 1001}, "page_size"),
                            ({"start": "yesterday"}, "RFC 3339"),
                            ({"start": rfc3339(t0 + 10), "end": rfc3339(t0)}, "before"),
                            ({"site": "elsewhere"}, "no site 'elsewhere'")):
            r = self.request("cdr/search", body)
            self.assertEqual(r["status"], "error", body)
            self.assertIn(words, r["error"])
        self.assertEqual(len(self.sim_requests("cdr/search")), asked)
#A PBX that fails the search : an error naming what it answered.
        self.stack.sim_post("/sim/config", {"error_rate": 1.0, "error_status": 503})
        r = self.request("cdr/search", window)
        self.stack.sim_post("/sim/config", {"error_rate": 0.0})
        self.assertEqual(r["status"], "error", r)
        self.assertIn("HTTP 503", r["error"])
        r = self.request("cdr/search", window)
        self.assertEqual(r["status"], "ok", r)

    def test_event_and_search_agree(self):
        """A call's R/events/cdr (event 30012, its time in the PBX's display
        format) and its cdr/search record (a Unix timestamp) are the same
        record: the simulator shows UTC, said by PBX_TIMEZONE."""
        self.make(n=10, env={"PBX_TIMEZONE": "UTC", "PBX_EVENT_FEED": "websocket"})
        since = self.start_gateway(n=10)
        deadline = time.time() + 20
        while not [c for c in self.stack.sim_get("/sim/ws")["connections"]
                   if c.get("topic_list")]:
            self.assertLess(time.time(), deadline, "the event feed never subscribed")
            time.sleep(0.1)
        t0 = int(time.time()) - 120
        a = self.call("+33123456789", "2001", t0, answer=t0 + 4, hangup=t0 + 64,
                      recording=True)
        ev = self.stack.bus.wait("events/cdr", lambda p: p["call_id"] == a["uid"],
                                 since=since)
        r = self.request("cdr/search", {"start": rfc3339(t0), "end": rfc3339(t0)})
        self.assertEqual(r["status"], "ok", r)
        (rec,) = r["data"]["cdrs"]
        for k in ("kind", "at", "service"):
            ev.pop(k)
        self.assertEqual(ev, rec)
        self.assertEqual(parse_time(rec["answer"]), t0 + 4)

    def fetch(self, name, chunk):
        """A recording through recording/get, chunk by chunk."""
        data, offset = b"", 0
        while True:
            r = self.request("recording/get", {"site": "main", "recording": name,
                                               "offset": offset, "max_bytes": chunk})
            self.assertEqual(r["status"], "ok", r)
            d = r["data"]
            self.assertEqual((d["offset"], d["content_type"]), (offset, "audio/wav"))
            part = base64.b64decode(d["data"])
            self.assertLessEqual(len(part), chunk)
            data += part
            offset += len(part)
            if offset >= d["size"]:
                self.assertEqual(offset, d["size"])
                return data

    def test_recordings(self):
        self.make(n=10)
        self.start_gateway(n=10)
        t0 = int(time.time()) - 600
        cdr = self.call("2000", "2001", t0, answer=t0 + 2, hangup=t0 + 20, recording=True)
        name = cdr["recording"]
        self.assertTrue(name)
        audio = self.fetch(name, 5000)
        self.assertEqual(audio[:4], b"RIFF")
        self.assertEqual(audio[8:12], b"WAVE")
        self.assertEqual(len(audio), 44 + 16000)
#The chunks came from one download.
        self.assertEqual(len(self.sim_requests("recording/download")), 1)
        downloads = [r for r in self.stack.sim_get("/sim/requests")
                     if r["path"].startswith("/api/download/")]
        self.assertEqual(len(downloads), 1)
        self.assertEqual(downloads[0]["http_status"], 200)
#Past the end, a bad name, one the PBX does not have.
        r = self.request("recording/get", {"recording": name, "offset": len(audio) + 1})
        self.assertIn("past the end", r["error"])
        r = self.request("recording/get", {"recording": "../../etc/passwd"})
        self.assertIn("field 'recording'", r["error"])
        r = self.request("recording/get", {"recording": name, "max_bytes": 4 * 1024 * 1024 + 1})
        self.assertIn("max_bytes", r["error"])
        r = self.request("recording/get", {"recording": "20200101000000-1.1-2000-2001-Internal.wav"})
        self.assertEqual(r["status"], "error", r)
        self.assertEqual(r["error"], "recording not found")
        self.assert_nothing_leaks()

    def test_recordings_dir(self):
        self.make(n=10)
        rec_dir = os.path.join(self.stack.dir, "recordings")
        self.stack.env["RECORDINGS_DIR"] = rec_dir
        self.start_gateway(n=10)
        t0 = int(time.time()) - 600
        name = self.call("2000", "+33123456789", t0, answer=t0 + 3, hangup=t0 + 9,
                         recording=True)["recording"]
        audio = self.fetch(name, 1 << 20)
        path = os.path.join(rec_dir, "main", name)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), audio)
        self.assertEqual(os.stat(path).st_mode & 0o777, 0o600)
#After a restart the file is served from the folder.
        self.stack.procs["yeastar-gateway"].stop()
        self.stack.sim_post("/sim/requests/clear", {})
        self.start_gateway(n=10)
        self.assertEqual(self.fetch(name, 3000), audio)
        self.assertEqual(self.sim_requests("recording/download"), [])
        self.assert_nothing_leaks()

    def test_dial(self):
        self.make(n=10)
        self.start_gateway(n=10)
        r = self.request("call/dial", {"site": "main", "ext": "2000",
                                       "number": "+33 1 23-45.67(89)", "by": "itest"})
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual((r["data"]["ext"], r["data"]["number"]), ("2000", "+33123456789"))
        self.assertTrue(r["data"]["call_id"])
        sent = self.sim_requests("call/dial")
        self.assertEqual(len(sent), 1)
        self.assertEqual(json.loads(sent[0]["body"]),
                         {"caller": "2000", "callee": "+33123456789"})
        calls = self.stack.sim_get("/sim/calls")
        self.assertIn(r["data"]["call_id"], [c["call_id"] for c in calls])
#Refused without asking the PBX.
        for body, error in (
                ({"ext": "2099", "number": "0123456789"}, "unknown extension 2099 on site main"),
                ({"ext": "2000", "number": "abc"}, "'abc' is not a phone number"),
                ({"ext": "2000", "number": "12+34"}, "'12+34' is not a phone number"),
                ({"site": "other", "ext": "2000", "number": "0123"}, "no site 'other'"),
                ({"number": "0123"}, "field 'ext'")):
            r = self.request("call/dial", body)
            self.assertEqual(r["status"], "error", body)
            self.assertIn(error, r["error"])
        self.assertEqual(len(self.sim_requests("call/dial")), 1)
#The PBX refuses(the caller is ringing already) : its errcode named.
        r = self.request("call/dial", {"ext": "2000", "number": "2000"})
        self.assertEqual(r["status"], "error", r)
        self.assertIn("errcode", r["error"])


if __name__ == "__main__":
    unittest.main()

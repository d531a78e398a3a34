#!/usr/bin/env python3
"""Integration test for the PBX simulator's calls: the /sim/calls control
API (ring, answer, hold, unhold, hang up), the CDR each finished call
leaves, and the documented cdr/search and cdr/list endpoints (pagination,
both time formats, refusals). tools/pbx-simulator/README.md "Calls and CDRs".

Run: /usr/bin/python3 tests/integration/test_11_pbx_simulator_calls.py
Binary: $PB_SIM_BIN, else /tmp/pbx-simulator. Standard library only."""

import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_10_pbx_simulator import SimTestCase  # noqa: E402

T0 = 1767268800  # 2026-01-01 12:00:00 UTC


class TestCalls(SimTestCase):
    def setUp(self):
        self.sim = self.start()
        self.tok = self.sim.token()

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

    def search(self, **query):
        status, j = self.sim.api("GET", "cdr/search", self.tok, query=query)
        self.assertEqual(status, 200, j)
        self.assertEqual(j["errcode"], 0, j)
        return j

    def test_answered_call_with_hold(self):
        call = self.ring("2000", "2001", recording=True, at=T0)
        self.assertEqual(call["state"], "ringing")
        self.assertEqual(call["type"], "Internal")
        cid = call["call_id"]
        status, active = self.sim.ctl("GET", "calls")
        self.assertEqual([c["call_id"] for c in active], [cid])
        self.assertEqual(self.step("answer", cid, T0 + 5)["state"], "talking")
        self.assertEqual(self.step("hold", cid, T0 + 20)["state"], "hold")
        self.assertEqual(self.step("unhold", cid, T0 + 30)["state"], "talking")
        cdr = self.step("hangup", cid, T0 + 65)
        self.assertEqual(cdr["uid"], cid)
        self.assertEqual(cdr["disposition"], "ANSWERED")
        self.assertEqual(cdr["duration"], 65)
        self.assertEqual(cdr["ring_duration"], 5)
        self.assertEqual(cdr["talk_duration"], 60)
        self.assertEqual(cdr["call_type"], "Internal")
        self.assertTrue(cdr["recording"].endswith("-2000-2001-Internal.wav"),
                        cdr)
        self.assertEqual(self.sim.ctl("GET", "calls"), (200, []))
        j = self.search()
        self.assertEqual(j["total_number"], 1)
        got = j["data"][0]
        for key in ("id", "uid", "time", "timestamp", "call_from", "call_to",
                    "duration", "ring_duration", "talk_duration",
                    "disposition", "call_type", "recording"):
            self.assertIn(key, got)
        self.assertEqual(got["time"], "01/01/2026 12:00:00")
        self.assertEqual(got["timestamp"], T0)
        self.assertEqual((got["call_from"], got["call_to"]), ("2000", "2001"))
        # gone once hung up
        status, j = self.sim.ctl("POST", "calls/hangup",
                                 body={"call_id": cid, "at": T0 + 70})
        self.assertEqual(status, 404, j)

    def test_unanswered_busy_and_directions(self):
        a = self.ring("2000", "+33123456789", at=T0)
        self.assertEqual(a["type"], "Outbound")
        cdr = self.step("hangup", a["call_id"], T0 + 20)
        self.assertEqual(cdr["disposition"], "NO ANSWER")
        self.assertEqual((cdr["duration"], cdr["talk_duration"]), (20, 0))
        self.assertEqual(cdr["recording"], "")
        b = self.ring("0612345678", "2003", recording=True, at=T0 + 100)
        self.assertEqual(b["type"], "Inbound")
        cdr = self.step("hangup", b["call_id"], T0 + 101, status="BUSY")
        self.assertEqual(cdr["disposition"], "BUSY")
        self.assertEqual(cdr["recording"], "")  # nothing was recorded
        self.assertEqual(self.search(status="NO ANSWER")["total_number"], 1)
        self.assertEqual(self.search(status="BUSY")["total_number"], 1)
        self.assertEqual(self.search(call_to="2003")["total_number"], 1)
        self.assertEqual(self.search(call_from="2000")["total_number"], 1)

    def test_control_refusals(self):
        for body in ({"from": "2000"}, {"from": "2000", "to": "2000"},
                     {"from": "12", "to": "2000"},
                     {"from": "+331", "to": "+332"},
                     {"from": "2000", "to": "2001", "recording": "yes"},
                     {"from": "2000", "to": "2001", "at": "now"}):
            status, j = self.sim.ctl("POST", "calls", body=body)
            self.assertEqual(status, 400, (body, j))
        cid = self.ring("2000", "2001", at=T0)["call_id"]
        status, _ = self.sim.ctl("POST", "calls/hold",
                                 body={"call_id": cid, "at": T0 + 1})
        self.assertEqual(status, 409)  # hold while ringing
        status, _ = self.sim.ctl("POST", "calls/answer",
                                 body={"call_id": cid, "at": T0 - 1})
        self.assertEqual(status, 400)  # before the ring
        status, _ = self.sim.ctl("POST", "calls/hangup",
                                 body={"call_id": cid, "status": "LATER"})
        self.assertEqual(status, 400)
        status, _ = self.sim.ctl("POST", "calls/answer",
                                 body={"call_id": "nope"})
        self.assertEqual(status, 404)

    def test_pagination_and_time_formats(self):
        status, j = self.sim.ctl("POST", "cdrs", body={
            "count": 25, "start": T0, "interval": 3600})
        self.assertEqual((status, j["added"], j["stored"]), (200, 25, 25), j)
        seen = []
        for page in (1, 2, 3):
            j = self.search(page=page, page_size=10)
            self.assertEqual(j["total_number"], 25)
            seen += [c["id"] for c in j["data"]]
        self.assertEqual(seen, list(range(1, 26)))
        self.assertEqual(self.search(page=4, page_size=10)["data"], [])
        self.assertEqual(len(self.search()["data"]), 25)  # default 10,000
        # hours 2..5 after T0, inclusive, both ways of writing time
        unix = self.search(start_time=T0 + 2 * 3600, end_time=T0 + 5 * 3600)
        shown = self.search(start_time="01/01/2026 14:00:00",
                            end_time="01/01/2026 17:00:00")
        self.assertEqual(unix["total_number"], 4)
        self.assertEqual(unix["data"], shown["data"])
        status, j = self.sim.api("GET", "cdr/list", self.tok,
                                 query={"page_size": 5, "sort_by": "time",
                                        "order_by": "desc"})
        self.assertEqual((status, j["errcode"], j["total_number"]),
                         (200, 0, 25), j)
        self.assertEqual([c["id"] for c in j["data"]], [25, 24, 23, 22, 21])

    def test_bad_input_refused(self):
        status, j = self.sim.api("GET", "cdr/search")
        self.assertEqual((status, j["errcode"], j["errmsg"]),
                         (200, 10002, "INVALID TOKEN"), j)
        status, j = self.sim.api("GET", "cdr/list", "x" * 32)
        self.assertEqual(j["errcode"], 10002, j)
        for field, value in (("page_size", "10001"), ("page_size", "0"),
                             ("page", "0"), ("page_size", "ten")):
            self.assertParamError(self.sim.api("GET", "cdr/search", self.tok,
                                               query={field: value}), field)
        for value in ("2026-01-01 12:00:00", "13/01/2026 12:00:00",
                      "02/30/2026 12:00:00", "01/01/2026 12:00",
                      "01/01/2026 12:00:00 PM", "-5", "yesterday"):
            self.assertParamError(self.sim.api(
                "GET", "cdr/search", self.tok,
                query={"start_time": value}), "start_time")
        self.assertParamError(self.sim.api(
            "GET", "cdr/search", self.tok,
            query={"start_time": T0, "end_time": T0 - 1}), "end_time")
        self.assertParamError(self.sim.api(
            "GET", "cdr/search", self.tok, query={"status": "answered"}),
            "status")
        self.assertParamError(self.sim.api(
            "GET", "cdr/search", self.tok,
            query={"enable_fuzzy_search": "1"}), "enable_fuzzy_search")
        self.assertParamError(self.sim.api(
            "GET", "cdr/list", self.tok, query={"sort_by": "caller"}),
            "sort_by")
        self.assertParamError(self.sim.api(
            "GET", "cdr/list", self.tok, query={"order_by": "up"}),
            "order_by")
        status, j = self.sim.api("POST", "cdr/search", self.tok, body={})
        self.assertEqual(status, 405, j)
        status, j = self.sim.ctl("POST", "cdrs", body={"count": 0})
        self.assertEqual(status, 400, j)


if __name__ == "__main__":
    unittest.main(verbosity=2)

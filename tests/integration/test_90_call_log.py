"""call-log against a real mosquitto (docs/call-log.md): CDR events stored
once even when sent twice; search, stats and get; bad requests and
malformed events refused with the field named while the service goes on;
a catch-up from a fake yeastar-gateway (this test answers
svc/yeastar-gateway/request/cdr/search as the contract says) whose page 2
fails until told otherwise: the cursor does not move, the page is asked
again, nothing is counted twice; a restart keeps the log, prunes what is
past CALL_LOG_RETENTION_DAYS and catches up from the cursor minus the
overlap. Then the real gateway and the PBX simulator: CDRs made on the
simulator reach the log through the gateway's cdr/search."""
import json
import os
import sqlite3
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(__file__))
import paho.mqtt.client as mqtt  # noqa: E402

from harness import ROOT, Stack, login, parse_time, rfc3339  # noqa: E402

PAGE = 3
OVERLAP = 600


def cdr(call_id, start, frm="+33123456789", to="2000", direction="inbound",
        status="answered", talk=60, ext="2000", site="main"):
    answered = status == "answered"
    return {"site": site, "call_id": call_id, "start": rfc3339(start),
            "answer": rfc3339(start + 5) if answered else None,
            "end": rfc3339(start + 5 + talk), "from": frm, "to": to,
            "direction": direction, "status": status,
            "talk_seconds": talk if answered else 0, "ring_seconds": 5,
            "trunk": "SIP-Orange" if direction != "internal" else None,
            "recording": None, "extension": ext}


class FakeGateway:
    """Answers cdr/search from a list of records; page `fail_page` is
    refused while `failing` is set. Every request is kept."""

    def __init__(self, port, records):
        self.records = records
        self.requests = []
        self.failing = False
        self.fail_page = 2
        self.lock = threading.Lock()
        self.client = login(mqtt.Client(client_id=f"fake-gw-{os.getpid()}"), port)
        self.client.on_message = self.on_message
        self.client.on_connect = lambda c, u, f, rc, p=None: c.subscribe(
            f"{ROOT}/svc/yeastar-gateway/request/cdr/search", qos=1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def on_message(self, client, userdata, msg):
        req = json.loads(msg.payload)
        with self.lock:
            self.requests.append(req)
            failing = self.failing and req.get("page") == self.fail_page
        resp = {"transaction": req.get("transaction")}
        if failing:
            resp.update(status="error", error="the PBX did not answer (test)")
        else:
            start, end = parse_time(req["start"]), parse_time(req["end"])
            chosen = sorted((r for r in self.records if r["site"] == req["site"]
                             and start <= parse_time(r["start"]) <= end),
                            key=lambda r: r["start"])
            size, page = req["page_size"], req["page"]
            resp.update(status="ok", data={
                "site": req["site"], "page": page, "page_size": size,
                "total": len(chosen), "cdrs": chosen[(page - 1) * size:page * size]})
        client.publish(f"{ROOT}/svc/yeastar-gateway/response/cdr/search",
                       json.dumps(resp), qos=1)

    def seen(self):
        with self.lock:
            return list(self.requests)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def wait_for(what, pred, timeout=30.0):
    deadline = time.time() + timeout
    while True:
        value = pred()
        if value:
            return value
        if time.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def ok(resp):
    assert resp["status"] == "ok", resp
    return resp["data"]


def error_of(resp):
    assert resp["status"] == "error", resp
    return resp["error"]


def total(stack, **body):
    return ok(stack.bus.request("call-log", "search", body))["total"]


def cursor_of(stack, site):
    db = sqlite3.connect(f"file:{stack.env['DATA_DIR']}/call-log.db?mode=ro", uri=True)
    try:
        row = db.execute("SELECT covered FROM cursors WHERE site = ?", (site,)).fetchone()
        return row[0] if row else None
    finally:
        db.close()


def fake_gateway_part():
    stack = Stack("90_call_log", sim=False, env={
        "CALL_LOG_BACKFILL_PAGE_SIZE": str(PAGE),
        "CALL_LOG_BACKFILL_DAYS": "2",
        "CALL_LOG_BACKFILL_OVERLAP_SECONDS": str(OVERLAP),
        "CALL_LOG_RETENTION_DAYS": "30",
    })
    gw = None
    try:
        now = time.time()
        # Seven calls in the PBX over the last day; one three days ago,
        # before the first catch-up's window (CALL_LOG_BACKFILL_DAYS=2).
        records = [cdr(f"pbx.{i}", now - 86400 + i * 3600) for i in range(7)]
        records[3] = cdr("pbx.3", now - 86400 + 3 * 3600, frm="2001", to="+442079460000",
                         direction="outbound", ext="2001", talk=300)
        records.append(cdr("pbx.old", now - 3 * 86400))
        gw = FakeGateway(stack.mqtt_port, records)
        gw.failing = True
        time.sleep(0.3)
        stack.bus.publish("svc/yeastar-gateway/availability", "online", retain=True)
        stack.bus.publish("site/main/status", json.dumps(
            {"site": "main", "state": "ok", "error": None}), retain=True)
        since = time.time()
        stack.start("call-log")

        # Page 1 is stored; page 2 fails, is asked again after a backoff,
        # and the cursor does not move meanwhile.
        wait_for("page 2 asked twice",
                 lambda: sum(1 for r in gw.seen() if r["page"] == 2) >= 2)
        assert total(stack) == PAGE
        assert cursor_of(stack, "main") is None
        first = gw.seen()[0]
        assert first["site"] == "main" and first["page"] == 1 and first["page_size"] == PAGE
        assert abs(parse_time(first["start"]) - (parse_time(first["end"]) - 2 * 86400)) <= 1
        assert all(r["start"] == first["start"] and r["end"] == first["end"]
                   for r in gw.seen()), "a retry must ask the same window"
        event = stack.bus.wait("events/error",
                               lambda e: e.get("service") == "call-log" and e.get("site") == "main"
                               and "page 2" in e.get("error", ""), since=since)
        assert "the PBX did not answer" in event["error"], event
        assert "catch-up page 2 failed" in stack.procs["call-log"].log()

        # The gateway recovers: the rest is stored, once; the cursor moves
        # to the window's end.
        gw.failing = False
        wait_for("the catch-up to end", lambda: cursor_of(stack, "main"))
        assert total(stack) == 7, "each call once, the one before the window not asked"
        assert cursor_of(stack, "main") == int(parse_time(first["end"]))
        pages = [r["page"] for r in gw.seen()]
        assert pages[-2:] == [2, 3], pages

        # Live events: the same call twice, and a call the catch-up brought.
        live = cdr("live.1", now - 120, frm="0612345678", to="2002", ext="2002", talk=42)
        stack.bus.publish("events/cdr", json.dumps(dict(live, kind="cdr", at=rfc3339(now),
                                                        service="yeastar-gateway")))
        stack.bus.publish("events/cdr", json.dumps(live))
        stack.bus.publish("events/cdr", json.dumps(records[0]))
        # Older than CALL_LOG_RETENTION_DAYS: stored, pruned at the next start.
        stack.bus.publish("events/cdr", json.dumps(cdr("ancient", now - 40 * 86400)))
        wait_for("the live calls", lambda: total(stack) == 9)
        got = ok(stack.bus.request("call-log", "get", {"site": "main", "call_id": "live.1"}))
        assert got["cdr"]["from"] == "0612345678" and got["cdr"]["talk_seconds"] == 42, got
        assert got["cdr"]["direction"] == "inbound" and got["cdr"]["answer"] is not None
        assert parse_time(got["cdr"]["start"]) == int(now - 120)
        # "site" defaults to SITE.
        assert ok(stack.bus.request("call-log", "get", {"call_id": "pbx.0"}))["cdr"]["call_id"] == "pbx.0"
        assert "call not found" in error_of(stack.bus.request(
            "call-log", "get", {"site": "main", "call_id": "nope"}))

        # Malformed events: refused, named, and the service goes on.
        since = time.time()
        stack.bus.publish("events/cdr", "not json")
        bad = dict(live, call_id="bad.1", status="hung_up")
        stack.bus.publish("events/cdr", json.dumps(bad))
        stack.bus.publish("events/cdr", json.dumps({"site": "main", "call_id": "bad.2"}))
        stack.bus.wait("events/error", lambda e: e.get("topic") == "events/cdr"
                       and "status" in e.get("error", ""), since=since)
        stack.bus.wait("events/error", lambda e: e.get("topic") == "events/cdr"
                       and "invalid JSON" in e.get("error", ""), since=since)
        assert total(stack) == 9
        assert stack.procs["call-log"].proc.poll() is None

        # Search: by number (a suffix from 6 digits), extension, direction,
        # newest first, paginated.
        assert total(stack, number="0123456789") == 7  # +33123456789, the ancient one too
        assert total(stack, number="06 12 34 56 78") == 1
        assert total(stack, ext="2001") == 1
        assert total(stack, direction="outbound") == 1
        assert total(stack, status="answered", site="main") == 9
        page = ok(stack.bus.request("call-log", "search", {"page": 1, "page_size": 2}))
        assert page["total"] == 9 and len(page["cdrs"]) == 2, page
        assert page["cdrs"][0]["call_id"] == "live.1", page["cdrs"][0]
        assert parse_time(page["cdrs"][0]["start"]) >= parse_time(page["cdrs"][1]["start"])
        window = {"from": rfc3339(now - 86400 - 1), "to": rfc3339(now - 86400 + 2 * 3600)}
        assert total(stack, **window) == 2

        # Bad requests: the field is named, nothing runs.
        for body, field in [({"page_size": 1001}, "page_size"),
                            ({"page": 0}, "page"),
                            ({"direction": "sideways"}, "direction"),
                            ({"status": "lost"}, "status"),
                            ({"number": "call me"}, "number"),
                            ({"from": "yesterday"}, "from"),
                            ({"from": rfc3339(now), "to": rfc3339(now - 60)}, "from"),
                            ({"exten": "2000"}, "exten")]:
            assert f"'{field}'" in error_of(stack.bus.request("call-log", "search", body)), body
        assert "'to'" in error_of(stack.bus.request("call-log", "stats", {"from": rfc3339(now)}))
        assert "'group'" in error_of(stack.bus.request(
            "call-log", "stats", {"from": rfc3339(now - 86400), "to": rfc3339(now), "group": "year"}))

        # Stats over the last two days: the arithmetic of the calls above.
        st = ok(stack.bus.request("call-log", "stats", {
            "site": "main", "from": rfc3339(now - 2 * 86400), "to": rfc3339(now + 60),
            "group": "day", "top": 5}))
        totals = st["totals"]
        assert totals["calls"] == 8 and totals["answered"] == 8 and totals["missed"] == 0, totals
        assert totals["talk_seconds"] == 6 * 60 + 300 + 42, totals
        assert totals["longest_talk_seconds"] == 300, totals
        assert totals["average_talk_seconds"] == round((6 * 60 + 300 + 42) / 8), totals
        by_ext = {e["ext"]: e for e in st["extensions"]}
        assert by_ext["2000"]["calls"] == 6 and by_ext["2001"]["talk_seconds"] == 300, by_ext
        assert len(by_ext["2000"]["last_calls"]) == 5
        assert st["numbers"][0]["number"] == "+33123456789" and st["numbers"][0]["calls"] == 6
        assert sum(p["calls"] for p in st["periods"]) == 8 and len(st["periods"]) in (3, 4)

        # A restart keeps the log, prunes what retention says, and catches
        # up from the cursor minus the overlap.
        covered = cursor_of(stack, "main")
        before = len(gw.seen())
        assert stack.procs["call-log"].stop() == 0
        stack.start("call-log")
        wait_for("a new catch-up", lambda: len(gw.seen()) > before)
        again = gw.seen()[before]
        assert abs(parse_time(again["start"]) - (covered - OVERLAP)) <= 1, (again, covered)
        wait_for("the catch-up to end", lambda: cursor_of(stack, "main") > covered)
        assert total(stack) == 8, "the restart lost or doubled calls, or kept the ancient one"
        assert "call not found" in error_of(stack.bus.request(
            "call-log", "get", {"site": "main", "call_id": "ancient"}))
        assert "retention: 1 calls older than 30 days deleted" in stack.procs["call-log"].log()
        assert not stack.sanitizer_reports(), stack.sanitizer_reports()
    finally:
        if gw:
            gw.close()
        codes = stack.stop()
    assert codes.get("call-log") == 0, codes


def real_gateway_part():
    """The PBX simulator's CDRs reach the log through the real gateway."""
    stack = Stack("90_call_log_real", sim=True, env={"CALL_LOG_BACKFILL_PAGE_SIZE": "7"})
    try:
        added = stack.sim_post("/sim/cdrs", {"count": 25, "interval": 600})
        assert added.get("added") == 25, added
        stack.start("yeastar-gateway", "call-log")
        wait_for("25 calls from the simulator",
                 lambda: total(stack, site="main") >= 25, timeout=60)
        assert total(stack, site="main") == 25
        # A second catch-up (the gateway comes back) brings no doubles.
        stack.procs["yeastar-gateway"].stop()
        stack.start("yeastar-gateway")
        wait_for("a second catch-up", lambda: stack.procs["call-log"].log().count(
            "site main: caught up") >= 2, timeout=60)
        assert total(stack, site="main") == 25
        # call-log's own findings (the gateway's are its tests' business).
        assert not [r for r in stack.sanitizer_reports() if r.startswith("call-log")]
    finally:
        stack.stop()


if __name__ == "__main__":
    fake_gateway_part()
    print("ok fake gateway: catch-up with a failing page, live events, requests, restart")
    real_gateway_part()
    print("ok real gateway and simulator")
    print("2 passed, 0 failed")

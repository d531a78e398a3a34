#!/usr/bin/python3
"""call-log benchmark (docs/call-log.md), against a real mosquitto:

  - 1,000,000 CDRs (1,000 extensions of one site, 100,000 outside numbers,
    a year) written straight into call-log.db, in the service's schema;
  - search by number through the bus (request -> response at a
    subscriber): p50/p99 over --searches requests, each a random outside
    number given in its national form (0XXXXXXXXX, a suffix match);
  - a month of statistics for the 1,000 extensions (group day, top 1000)
    through the bus: p50/max over --stats requests;
  - the reference, in the same run on the same file: the sqlite3 command
    line running the service's indexed query, and the naive query (LIKE
    '%digits' over from and to), wall time of each process;
  - a catch-up of 100,000 CDRs from the PBX simulator (/sim/cdrs) through
    the real yeastar-gateway's cdr/search, into an empty log: from
    call-log's start to "caught up";
  - call-log's peak RSS (VmHWM) at 1,000,000 CDRs, after the requests.

Usage: bench/calllog_bench.py [--build DIR] [--cdrs N] [--searches N]
                              [--stats N] [--backfill N]
"""
import argparse
import json
import os
import random
import socket
import sqlite3
import threading
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../tests/integration"))

parser = argparse.ArgumentParser()
parser.add_argument("--build", default=os.path.join(HERE, "../build"))
parser.add_argument("--cdrs", type=int, default=1_000_000)
parser.add_argument("--searches", type=int, default=300)
parser.add_argument("--stats", type=int, default=10)
parser.add_argument("--backfill", type=int, default=100_000)
args = parser.parse_args()
os.environ["PB_BUILD_DIR"] = os.path.abspath(args.build)

import paho.mqtt.client as mqtt  # noqa: E402
from harness import (ROOT, TEST_USER, Stack, broker_password, login,  # noqa: E402
                     rfc3339)

random.seed(12)
EXTS = [str(2000 + i) for i in range(1000)]
NUMBERS = [f"+331{random.randrange(10**8):08d}" for _ in range(100_000)]
YEAR_END = int(time.time()) // 86400 * 86400
YEAR_START = YEAR_END - 365 * 86400


def rev(number):
    return "".join(c for c in number if c.isdigit())[::-1]


def seed(path, n):
    """n CDRs over the year before YEAR_END, in call-log's own schema (the
    service created the file), as cdr_store.c writes them."""
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    step = (YEAR_END - YEAR_START) / n
    rows, used = [], set()
    statuses = ["answered"] * 7 + ["no_answer", "busy", "voicemail"]
    for i in range(n):
        start = YEAR_START + int(i * step)
        ext = EXTS[i % 1000]
        r = random.random()
        if r < 0.6:
            direction, frm, to = "inbound", random.choice(NUMBERS), ext
            peer = frm
        elif r < 0.95:
            direction, frm, to = "outbound", ext, random.choice(NUMBERS)
            peer = to
        else:
            direction, frm, to, peer = "internal", ext, random.choice(EXTS), None
        if peer:
            used.add(peer)
        status = random.choice(statuses)
        talk = random.randrange(5, 900) if status == "answered" else 0
        answer = start + 5 if status == "answered" else None
        rows.append(("main", f"{start}.{i}", start, answer, start + 5 + talk, frm, to,
                     direction, status, talk, 5, "SIP-Orange" if direction != "internal" else None,
                     None, ext, peer, rev(frm), rev(to), start))
        if len(rows) == 50_000:
            db.executemany("INSERT INTO cdrs(site, call_id, start, answer, end_time, from_num, "
                           "to_num, direction, status, talk_seconds, ring_seconds, trunk, "
                           "recording, extension, peer, from_rev, to_rev, stored_at) VALUES "
                           "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
            rows = []
    if rows:
        db.executemany("INSERT INTO cdrs(site, call_id, start, answer, end_time, from_num, "
                       "to_num, direction, status, talk_seconds, ring_seconds, trunk, "
                       "recording, extension, peer, from_rev, to_rev, stored_at) VALUES "
                       "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    db.commit()
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return sorted(used)


def vm_hwm_mb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def pct(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


class Requester:
    """One request at a time, timed from the publish to the answer's arrival
    (TCP_NODELAY on the bench's socket, as the services set it: what is
    timed is the system, not the test client)."""

    def __init__(self, port):
        self.c = login(mqtt.Client(client_id=f"bench-rr-{os.getpid()}"), port)
        self.got = threading.Event()
        self.answer = None
        self.c.on_message = self.on_message
        self.c.connect("127.0.0.1", port)
        self.c.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.c.subscribe(f"{ROOT}/svc/call-log/response/#", qos=1)
        self.c.loop_start()
        time.sleep(0.3)
        self.n = 0

    def on_message(self, client, userdata, msg):
        arrived = time.perf_counter()  # before the bench's own JSON parsing
        resp = json.loads(msg.payload)
        if resp.get("transaction") == f"b{self.n}":
            self.answer, self.arrived = resp, arrived
            self.got.set()

    def request(self, action, body):
        self.n += 1
        self.got.clear()
        payload = json.dumps(dict(body, transaction=f"b{self.n}"))
        t0 = time.perf_counter()
        self.c.publish(f"{ROOT}/svc/call-log/request/{action}", payload, qos=1)
        assert self.got.wait(60), "no answer"
        ms = (self.arrived - t0) * 1000
        assert self.answer["status"] == "ok", self.answer
        return ms, self.answer["data"]

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def timed_request(stack, action, body):
    if not hasattr(stack, "requester"):
        stack.requester = Requester(stack.mqtt_port)
    return stack.requester.request(action, body)


def rr_ms(stack, action, body):
    """The same request from mosquitto_rr (a C client; its connection and
    subscription included), answered on its MQTT 5 response topic."""
    t0 = time.perf_counter()
    r = subprocess.run(["mosquitto_rr", "-h", "127.0.0.1", "-p", str(stack.mqtt_port),
                        "-u", TEST_USER, "-P", broker_password(stack.mqtt_dir, TEST_USER),
                        "-t", f"{ROOT}/svc/call-log/request/{action}",
                        "-e", f"{ROOT}/reply/{TEST_USER}/bench", "-m", json.dumps(body),
                        "-W", "60"], check=True, capture_output=True)
    ms = (time.perf_counter() - t0) * 1000
    assert json.loads(r.stdout)["status"] == "ok", r.stdout[:200]
    return ms


def cli_ms(path, sql):
    t0 = time.perf_counter()
    subprocess.run(["sqlite3", "-readonly", path, sql], check=True, capture_output=True)
    return (time.perf_counter() - t0) * 1000


def big_log():
    # Debug logging: call-log logs the time each answer took inside it.
    stack = Stack("bench_calllog", sim=False)
    try:
        # The broker without Nagle's delay on its sockets, as a deployment
        # tuned for latency would run it (deploy/mosquitto leaves mosquitto's
        # default); otherwise every answer waits ~40 ms for a delayed ACK.
        with open(stack.broker_conf, "a") as f:
            f.write("set_tcp_nodelay true\n")
        stack.restart_broker()
        stack.start("call-log")
        stack.procs["call-log"].stop()
        path = os.path.join(stack.env["DATA_DIR"], "call-log.db")
        t0 = time.time()
        used = seed(path, args.cdrs)
        print(f"seeded {args.cdrs} CDRs in {time.time() - t0:.0f} s "
              f"({os.path.getsize(path) / 2**20:.0f} MiB)", flush=True)
        stack.start("call-log")
        pid = stack.procs["call-log"].proc.pid

        # Search by number: national form of a random outside number.
        samples, found = [], 0
        picks = [random.choice(used) for _ in range(args.searches)]
        timed_request(stack, "search", {"number": "0" + picks[0][3:]})  # warm-up
        for n in picks:
            ms, data = timed_request(stack, "search", {"number": "0" + n[3:], "page_size": 50})
            samples.append(ms)
            found += data["total"] > 0
        assert found == len(picks), "every picked number has calls"
        print(f"search by number over {args.cdrs} CDRs through the bus: "
              f"p50 {statistics.median(samples):.1f} ms, p99 {pct(samples, 99):.1f} ms, "
              f"max {max(samples):.1f} ms (n={len(samples)})", flush=True)

        # A month of statistics for the 1,000 extensions.
        month_to = YEAR_END - 30 * 86400
        body = {"site": "main", "from": rfc3339(month_to - 30 * 86400), "to": rfc3339(month_to),
                "group": "day", "top": 1000}
        stat_ms = []
        for _ in range(args.stats):
            ms, data = timed_request(stack, "stats", body)
            stat_ms.append(ms)
        assert len(data["extensions"]) == 1000, len(data["extensions"])
        inside = [int(line.rsplit(" ", 2)[-2]) for line in stack.procs["call-log"].log().splitlines()
                  if "stats answered in" in line]
        size = len(json.dumps(data))
        print(f"month stats, 1000 extensions ({data['totals']['calls']} calls, answer "
              f"{size / 2**20:.1f} MiB): p50 {statistics.median(stat_ms):.0f} ms, "
              f"max {max(stat_ms):.0f} ms (n={len(stat_ms)}); inside call-log (query and "
              f"JSON, before sending) p50 {statistics.median(inside):.0f} ms, "
              f"max {max(inside)} ms", flush=True)
        # The same month with the default top 10 (every extension counted,
        # ten listed): the answer is small, so this is the aggregation.
        small = dict(body, top=10)
        small_ms = [timed_request(stack, "stats", small)[0] for _ in range(args.stats)]
        print(f"month stats, default top 10: p50 {statistics.median(small_ms):.0f} ms, "
              f"max {max(small_ms):.0f} ms (n={len(small_ms)})", flush=True)
        rr_small = statistics.median(rr_ms(stack, "search", {"number": "0" + picks[0][3:]})
                                     for _ in range(5))
        rr_big = statistics.median(rr_ms(stack, "stats", body) for _ in range(5))
        print(f"with mosquitto_rr (C client, its connection included): search {rr_small:.0f} ms, "
              f"month stats top 1000 {rr_big:.0f} ms (median of 5)", flush=True)
        hwm = vm_hwm_mb(pid)

        # The reference: the sqlite3 CLI on the same file (process start
        # included; an empty query measures that start).
        key = rev(picks[0][3:].lstrip("0"))
        hi = key + ":"
        indexed = (f"SELECT COUNT(*) FROM cdrs WHERE (from_rev >= '{key}' AND from_rev < '{hi}') "
                   f"OR (to_rev >= '{key}' AND to_rev < '{hi}');")
        digits = picks[0][3:]
        naive = (f"SELECT COUNT(*) FROM cdrs WHERE from_num LIKE '%{digits}' "
                 f"OR to_num LIKE '%{digits}';")
        month = (f"SELECT extension, COUNT(*), SUM(status='answered'), SUM(talk_seconds), "
                 f"MAX(talk_seconds) FROM cdrs WHERE start >= {month_to - 30 * 86400} AND "
                 f"start < {month_to} GROUP BY extension;")
        empty = statistics.median(cli_ms(path, "SELECT 1;") for _ in range(5))
        ref_idx = statistics.median(cli_ms(path, indexed) for _ in range(5))
        ref_naive = statistics.median(cli_ms(path, naive) for _ in range(3))
        ref_month = statistics.median(cli_ms(path, month) for _ in range(3))
        print(f"reference, sqlite3 CLI on the same file (process start {empty:.1f} ms included): "
              f"indexed suffix count {ref_idx:.1f} ms, naive LIKE '%digits' {ref_naive:.0f} ms, "
              f"month GROUP BY extension {ref_month:.0f} ms", flush=True)
        print(f"call-log peak RSS (VmHWM) at {args.cdrs} CDRs: {hwm:.1f} MB", flush=True)
    finally:
        stack.stop()


def backfill():
    stack = Stack("bench_calllog_backfill", sim=True, env={
        "CALL_LOG_BACKFILL_PAGE_SIZE": "1000", "CALL_LOG_BACKFILL_DAYS": "7"})
    try:
        n = args.backfill
        interval = max(1, (6 * 86400) // n)
        added = stack.sim_post("/sim/cdrs", {"count": n, "interval": interval})
        assert added["added"] == n, added
        stack.start("yeastar-gateway")
        t0 = time.time()
        stack.start("call-log")
        deadline = time.time() + 600
        while "site main: caught up" not in stack.procs["call-log"].log():
            assert time.time() < deadline, "no catch-up in 600 s"
            time.sleep(0.05)
        seconds = time.time() - t0
        total = stack.bus.request("call-log", "search", {"site": "main", "page_size": 1})
        total = total["data"]["total"]
        print(f"catch-up of {n} CDRs from the simulator through yeastar-gateway: "
              f"{seconds:.1f} s ({total} stored, "
              f"{n / seconds:.0f} CDRs/s; pages of 1000)", flush=True)
        assert total == n, total
    finally:
        stack.stop()


if __name__ == "__main__":
    big_log()
    if args.backfill:
        backfill()

#!/usr/bin/python3
"""Call events benchmark: yeastar-gateway's live feed, against a real
mosquitto and the PBX simulator. For `--seconds` (30) the bench drives
`--rate` (200) call steps per second through the simulator's control API
(ring, answer, hang up, round-robin over 100 extensions); each step makes
the simulator send one 30011 (Call State Changed) on its WebSocket feed
(hang-ups add 30012 and 30008). Each step is timed:

  - send: a second WebSocket client, subscribed to the simulator's feed
    beside the gateway, receives the step's 30011 (the simulator's send as
    seen on loopback);
  - bus: the R/ext/main/<ext>/call message with the step's state arrives
    at an MQTT subscriber.

Figures: bus - send (the gateway: WebSocket in, call state, MQTT out, the
broker), p50/p99/max, target p99 <= 50 ms; and bus - request (the whole
chain from the control request). The reference, in the same run: the same
payloads published by a paho client to mosquitto at the same rate and
received by the same kind of subscriber (mosquitto_pub -> mosquitto_sub's
hop, without the gateway).

Usage: bench/call_events_bench.py [--build DIR] [--rate N] [--seconds S]
"""
import argparse
import base64
import http.client
import json
import os
import socket
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "../tests/integration"))

parser = argparse.ArgumentParser()
parser.add_argument("--build", default=os.path.join(HERE, "../build"))
parser.add_argument("--rate", type=int, default=200)
parser.add_argument("--seconds", type=int, default=30)
parser.add_argument("--extensions", type=int, default=100)
args = parser.parse_args()
os.environ["PB_BUILD_DIR"] = os.path.abspath(args.build)
os.environ.setdefault("PB_SIM_BIN", os.path.join(os.environ["PB_BUILD_DIR"],
                                                 "tools/pbx-simulator/pbx-simulator"))

import paho.mqtt.client as mqtt  # noqa: E402
import harness  # noqa: E402
from harness import ROOT, Stack, login  # noqa: E402

harness.SIM_BIN = os.environ["PB_SIM_BIN"]


def nodelay(sock):
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class FeedWatcher:
    """A minimal RFC 6455 client (text frames only) on the simulator's
    feed: records when each 30011 arrives, by (call_id, member statuses)."""

    def __init__(self, port, token):
        self.sock = socket.create_connection(("127.0.0.1", port))
        nodelay(self.sock)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /openapi/v1.0/subscribe?access_token={token} HTTP/1.1\r\n"
                           f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\nUser-Agent: bench\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if b" 101 " not in head.split(b"\r\n")[0]:
            raise SystemExit(f"the simulator refused the bench's WebSocket: {head!r}")
        self.arrivals = {}
        self.lock = threading.Lock()
        self.send('{"topic_list":[30011]}')
        threading.Thread(target=self.read, daemon=True).start()
        self.hb = threading.Thread(target=self.heartbeat, daemon=True)
        self.hb.start()

    def send(self, text):
        data = text.encode()
        mask = os.urandom(4)
        head = bytes([0x81, 0x80 | len(data)]) if len(data) < 126 else \
            bytes([0x81, 0x80 | 126]) + len(data).to_bytes(2, "big")
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))

    def heartbeat(self):
        while True:
            time.sleep(20)
            self.send("heartbeat")

    def recv_exact(self, n):
        buf = b""
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise EOFError
            buf += chunk
        return buf

    def read(self):
        try:
            while True:
                b0, b1 = self.recv_exact(2)
                n = b1 & 0x7F
                if n == 126:
                    n = int.from_bytes(self.recv_exact(2), "big")
                elif n == 127:
                    n = int.from_bytes(self.recv_exact(8), "big")
                payload = self.recv_exact(n)
                now = time.time()
                if b0 & 0x0F != 1:
                    continue
                try:
                    ev = json.loads(payload)
                except ValueError:
                    continue
                if not isinstance(ev, dict) or ev.get("type") != 30011:
                    continue
                msg = json.loads(ev["msg"]) if isinstance(ev["msg"], str) else ev["msg"]
                for m in msg["members"]:
                    e = m.get("extension")
                    if e:
                        with self.lock:
                            self.arrivals.setdefault(
                                (msg["call_id"], e["number"], e["member_status"]), now)
        except (EOFError, OSError):
            pass


class BusWatcher:
    def __init__(self, port, pattern):
        self.arrivals = []  # (time, topic, payload)
        self.lock = threading.Lock()
        self.c = login(mqtt.Client(client_id=f"bench-sub-{os.getpid()}-{pattern}",
                                   protocol=mqtt.MQTTv311), port)
        self.c.on_message = self.on_message
        self.c.on_connect = lambda c, u, f, rc: c.subscribe(pattern, qos=0)
        self.c.connect("127.0.0.1", port)
        nodelay(self.c.socket())
        self.c.loop_start()
        time.sleep(0.5)

    def on_message(self, client, userdata, msg):
        with self.lock:
            self.arrivals.append((time.time(), msg.topic, msg.payload))

    def close(self):
        self.c.loop_stop()
        self.c.disconnect()


def pct(values, p):
    values = sorted(values)
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def summary(name, values):
    ms = [v * 1000 for v in values]
    return (f"{name}: n={len(ms)} p50={pct(ms, 50):.1f} ms p99={pct(ms, 99):.1f} ms "
            f"max={max(ms):.1f} ms mean={statistics.mean(ms):.1f} ms")


def main():
    stack = Stack("bench_call_events", sim_args=["--extensions", str(args.extensions),
                                                 "--quiet"],
                  env={"LOG_LEVEL": "info", "PBX_READBACK_SECONDS": "0"})
    try:
        since = time.time()
        stack.start("yeastar-gateway")
        stack.bus.wait("site/main/directory", since=since, timeout=60)
        deadline = time.time() + 30
        while stack.sim_get("/sim/ws")["subscribed"] < 1:
            if time.time() > deadline:
                raise SystemExit("the gateway's feed did not subscribe")
            time.sleep(0.1)
        sim = http.client.HTTPConnection("127.0.0.1", stack.sim_port, timeout=30)

        def post(path, body):
            sim.request("POST", path, json.dumps(body),
                        {"Content-Type": "application/json"})
            r = sim.getresponse()
            data = r.read()
            if r.status >= 300:
                raise SystemExit(f"simulator {path}: {r.status} {data[:200]!r}")
            return json.loads(data)

        conn = http.client.HTTPConnection("127.0.0.1", stack.sim_port, timeout=30)
        conn.request("POST", "/openapi/v1.0/get_token",
                     json.dumps({"username": "presencebus-demo",
                                 "password": "demo-secret-0123456789abcdef0123"}),
                     {"User-Agent": "bench", "Content-Type": "application/json"})
        tok = json.loads(conn.getresponse().read())["access_token"]
        conn.close()
        feed = FeedWatcher(stack.sim_port, tok)
        bus = BusWatcher(stack.mqtt_port, f"{ROOT}/ext/main/+/call")
        time.sleep(0.5)

        # Steps: for each extension in turn, ring (2xxx rings), answer, hang
        # up; `open_calls` keeps the call of each extension.
        exts = [str(2000 + i) for i in range(args.extensions)]
        steps = []  # (t_request, ext, call_id, vendor status, bus state)
        open_calls = {}
        n_steps = args.rate * args.seconds
        period = 1.0 / args.rate
        start = time.time()
        i = 0
        while i < n_steps:
            ext = exts[(i // 3) % len(exts)]
            phase = i % 3
            target = start + i * period
            wait = target - time.time()
            if wait > 0:
                time.sleep(wait)
            t = time.time()
            if phase == 0:
                call = post("/sim/calls", {"from": "+33123456789", "to": ext})
                open_calls[ext] = call["call_id"]
                steps.append((t, ext, call["call_id"], "RING", "ringing"))
            elif phase == 1:
                post("/sim/calls/answer", {"call_id": open_calls[ext]})
                steps.append((t, ext, open_calls[ext], "ANSWER", "talking"))
            else:
                post("/sim/calls/hangup", {"call_id": open_calls.pop(ext)})
                steps.append((t, ext, steps[-1][2], "BYE", "idle"))
            i += 1
        elapsed = time.time() - start
        time.sleep(2.0)
        bus.close()

        # Match each step with its bus message: the first R/ext/main/<ext>/call
        # after the request with the step's state (and call id unless idle).
        by_ext = {}
        for t, topic, payload in bus.arrivals:
            ext = topic.split("/")[-2]
            by_ext.setdefault(ext, []).append((t, json.loads(payload)))
        send_to_bus, req_to_bus, req_to_send = [], [], []
        missing = 0
        for t, ext, cid, vendor, state in steps:
            hit = None
            for tb, p in by_ext.get(ext, []):
                if tb >= t and p["state"] == state and (
                        state == "idle" or p["call_id"] == cid):
                    hit = tb
                    break
            ts = feed.arrivals.get((cid, ext, vendor))
            if hit is None or ts is None:
                missing += 1
                continue
            send_to_bus.append(hit - ts)
            req_to_bus.append(hit - t)
            req_to_send.append(ts - t)

        # Reference: the same payloads through mosquitto alone, same rate.
        payloads = [json.dumps(p) for _, lst in sorted(by_ext.items())
                    for _, p in lst][:n_steps]
        ref = BusWatcher(stack.mqtt_port, f"{ROOT}/bench/ref/#")
        pub = login(mqtt.Client(client_id=f"bench-pub-{os.getpid()}",
                                protocol=mqtt.MQTTv311), stack.mqtt_port)
        pub.connect("127.0.0.1", stack.mqtt_port)
        nodelay(pub.socket())
        pub.loop_start()
        sent = {}
        start = time.time()
        for k, payload in enumerate(payloads):
            target = start + k * period
            wait = target - time.time()
            if wait > 0:
                time.sleep(wait)
            sent[k] = time.time()
            pub.publish(f"{ROOT}/bench/ref/{k}", payload, qos=0)
        time.sleep(2.0)
        ref.close()
        pub.loop_stop()
        pub.disconnect()
        ref_lat = [t - sent[int(topic.rsplit("/", 1)[1])] for t, topic, _ in ref.arrivals]

        print(f"steps: {len(steps)} in {elapsed:.1f} s ({len(steps) / elapsed:.0f}/s), "
              f"matched {len(send_to_bus)}, missing {missing}")
        print(summary("simulator send -> R/ext/.../call (gateway + broker)", send_to_bus))
        print(summary("control request -> simulator send (simulator)", req_to_send))
        print(summary("control request -> R/ext/.../call (whole chain)", req_to_bus))
        print(summary("reference: paho publish -> mosquitto -> subscriber", ref_lat))
        rss = open(f"/proc/{stack.procs['yeastar-gateway'].proc.pid}/status").read()
        hwm = [line for line in rss.splitlines() if line.startswith("VmHWM")]
        print(f"gateway peak RSS: {hwm[0].split(':')[1].strip() if hwm else '?'}")
        p99 = pct([v * 1000 for v in send_to_bus], 99)
        print(f"target p99 <= 50 ms: {'met' if p99 <= 50 else 'NOT met'} ({p99:.1f} ms)")
    finally:
        stack.stop()


if __name__ == "__main__":
    main()

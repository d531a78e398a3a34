"""Integration-test harness: a real mosquitto on a free port, the real
service binaries, the PBX simulator, and an MQTT client that records every
message. Used by the test_NN_*.py scripts (mosquitto's own tests work the
same way)."""
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request

import paho.mqtt.client as mqtt

BUILD = os.environ.get("PB_BUILD_DIR", os.path.join(os.path.dirname(__file__), "../../build"))
SOURCE = os.environ.get("PB_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "../.."))
MOSQUITTO = os.environ.get("PB_MOSQUITTO") or shutil.which("mosquitto") or "/usr/sbin/mosquitto"
SIM_BIN = os.environ.get("PB_SIM_BIN", os.path.join(BUILD, "tools/pbx-simulator/pbx-simulator"))
ROOT = "presence"
SERVICES = ("ical-ingest", "scheduler", "yeastar-gateway", "web-api", "call-log")
ARTIFACTS = os.path.join(BUILD, "test-artifacts")
WEB_ADMIN_PASSWORD = "admin-password-for-tests"
BROKER_CONFIG = os.path.join(SOURCE, "scripts/broker-config")
# The test client's own broker user: allowed everything, so that tests can
# play any service's part. It exists only in test brokers.
TEST_USER = "pb-test"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on port {port}")


def read_file(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def rfc3339(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).isoformat().replace("+00:00", "Z")


def parse_time(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class Process:
    """A child process whose output goes to a log file kept as an artifact."""

    def __init__(self, name, argv, env, logdir):
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = os.path.join(logdir, f"{name}.log")
        self.proc = None

    def start(self):
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=log,
                                     stdin=subprocess.DEVNULL)
        log.close()
        return self

    def stop(self, timeout=10):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def kill9(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def log(self):
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""


def broker_config(directory, extra_users=()):
    """The broker's password and ACL files in `directory` (the services'
    DATA_DIR/mqtt, where they find their passwords), made by the same
    scripts/broker-config as scripts/run, plus the test's own users:
    `extra_users` is a list of (name, ACL lines)."""
    os.makedirs(directory, exist_ok=True)
    users = [(TEST_USER, ["topic readwrite #"])] + list(extra_users)
    with open(os.path.join(directory, "acl.local"), "w") as f:
        for name, lines in users:
            f.write(f"user {name}\n" + "".join(f"{line}\n" for line in lines))
    for name, _ in users:
        path = os.path.join(directory, f"{name}.password")
        if not os.path.exists(path):
            with open(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
                f.write(f"{name}-password-for-tests")
    subprocess.run([BROKER_CONFIG, directory, ROOT], check=True)


def broker_password(directory, user):
    return read_file(os.path.join(directory, f"{user}.password")).strip()


# The test user's password of each running test broker, by port.
_TEST_LOGINS = {}


def login(client, port):
    """Logs a paho client of a test in as the test user of the broker on
    `port` (call before connect)."""
    client.username_pw_set(TEST_USER, _TEST_LOGINS[port])
    return client


class Bus:
    """An MQTT client that records every message of `pattern` (default:
    everything under the root); topics under the root are kept relative to
    it, others whole. `tls` is (CA file, client certificate, its key)."""

    def __init__(self, port, username=None, password=None, protocol=mqtt.MQTTv311,
                 subscribe=True, pattern=f"{ROOT}/#", tls=None):
        self.messages = []
        self.cond = threading.Condition()
        self.connack = None
        self.client = mqtt.Client(client_id=f"test-{os.getpid()}-{time.time()}",
                                  protocol=protocol)
        if username:
            self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set(ca_certs=tls[0], certfile=tls[1], keyfile=tls[2])
        self.subscribe = subscribe
        self.pattern = pattern
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        self.client.connect("127.0.0.1", port)
        # As the services do (bus.c): without it, each QoS 1 publish may
        # wait for a delayed ACK of the previous one.
        self.client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.client.loop_start()
        if not subscribe:
            return
        self.wait_connack()
        time.sleep(0.2)  # the subscription (sent on CONNACK) is in place

    def _on_connect(self, client, userdata, flags, rc, properties=None):
        with self.cond:
            self.connack = rc
            self.cond.notify_all()
        # Here, so that it subscribes again after a broker restart.
        if rc == 0 and self.subscribe:
            client.subscribe(self.pattern, qos=1)

    def wait_connack(self, timeout=10.0):
        """The broker's CONNACK code (0: accepted)."""
        deadline = time.time() + timeout
        with self.cond:
            while self.connack is None and time.time() < deadline:
                self.cond.wait(deadline - time.time())
            return self.connack

    def _on_message(self, client, userdata, msg):
        with self.cond:
            topic = msg.topic
            if topic.startswith(ROOT + "/"):
                topic = topic[len(ROOT) + 1:]
            self.messages.append((time.time(), topic,
                                  msg.payload.decode("utf-8", "replace"), msg.retain))
            self.cond.notify_all()

    def publish(self, topic, payload, retain=False):
        """Publishes on R/topic (QoS 1) and waits for the broker's ack."""
        self.publish_abs(f"{ROOT}/{topic}", payload, retain)

    def publish_abs(self, topic, payload, retain=False):
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish()

    def wait(self, topic, pred=lambda p: True, timeout=15.0, since=0.0):
        """The first message on topic after `since` whose payload satisfies
        pred (payloads that are JSON are decoded first)."""
        deadline = time.time() + timeout
        with self.cond:
            while True:
                for t, top, payload, _ in self.messages:
                    if t < since or top != topic:
                        continue
                    try:
                        value = json.loads(payload) if payload[:1] in "{[" else payload
                    except ValueError:
                        value = payload
                    if pred(value):
                        return value
                left = deadline - time.time()
                if left <= 0:
                    seen = [m for m in self.messages if m[1] == topic][-5:]
                    raise AssertionError(f"no matching message on {topic} in {timeout}s; "
                                         f"last seen: {seen}")
                self.cond.wait(left)

    def last(self, topic):
        with self.cond:
            for _, top, payload, _ in reversed(self.messages):
                if top == topic:
                    return payload
        return None

    def request(self, service, action, body, timeout=10.0):
        tx = f"t{time.time_ns()}"
        body = dict(body, transaction=tx)
        since = time.time()
        self.publish(f"svc/{service}/request/{action}", json.dumps(body))
        return self.wait(f"svc/{service}/response/{action}",
                         lambda p: isinstance(p, dict) and p.get("transaction") == tx,
                         timeout, since)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


class Stack:
    """mosquitto + (optionally) the simulator + services, in a temporary
    data directory. With `fake_time`, every service's clock reads that
    instant now and then runs at real speed (CLOCK_OFFSET_MS)."""

    def __init__(self, name, fake_time=None, timezone="Europe/Paris", sim=True,
                 sim_args=(), env=None, broker_persistence=False, broker_users=()):
        os.makedirs(ARTIFACTS, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix=f"pb-{name}-")
        self.logdir = os.path.join(ARTIFACTS, name)
        shutil.rmtree(self.logdir, ignore_errors=True)
        os.makedirs(self.logdir)
        self.mqtt_port = free_port()
        # A closed broker, as every shipped configuration: one user per
        # service with the ACL of deploy/mosquitto/acl.template.
        self.mqtt_dir = os.path.join(self.dir, "data", "mqtt")
        broker_config(self.mqtt_dir, broker_users)
        self.broker_conf = os.path.join(self.dir, "mosquitto.conf")
        with open(self.broker_conf, "w") as f:
            f.write(f"listener {self.mqtt_port} 127.0.0.1\nallow_anonymous false\n"
                    f"password_file {self.mqtt_dir}/passwd\nacl_file {self.mqtt_dir}/acl\n"
                    f"persistence {'true' if broker_persistence else 'false'}\n"
                    f"persistence_location {self.dir}/\n"
                    "max_queued_messages 100000\n")
            if os.getuid() == 0:
                f.write("user root\n")
        _TEST_LOGINS[self.mqtt_port] = broker_password(self.mqtt_dir, TEST_USER)
        self.start_broker()
        self.sim = None
        self.sim_port = None
        if sim:
            port_file = os.path.join(self.dir, "sim.port")
            self.sim = Process("pbx-simulator", [SIM_BIN, "--listen", "127.0.0.1:0",
                                                 "--port-file", port_file, *sim_args],
                               dict(os.environ), self.logdir).start()
            deadline = time.time() + 10
            while not read_file(port_file).strip():
                if time.time() > deadline:
                    raise TimeoutError("the simulator did not start")
                time.sleep(0.05)
            self.sim_port = int(read_file(port_file).strip())
        self.web_port = free_port()
        self.fake_time = fake_time
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("YEASTAR_PBX_URL", "MQTT_URL", "TIMEZONE")}
        self.env.update({
            "MQTT_URL": f"mqtt://127.0.0.1:{self.mqtt_port}",
            "DATA_DIR": os.path.join(self.dir, "data"),
            "TIMEZONE": timezone,
            "WEB_LISTEN": f"127.0.0.1:{self.web_port}",
            "LOG_LEVEL": "debug",
            "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0",
        })
        if sim:
            self.env.update({
                "YEASTAR_PBX_URL": f"http://127.0.0.1:{self.sim_port}",
                "YEASTAR_CLIENT_ID": "presencebus-demo",
                "YEASTAR_CLIENT_SECRET": "demo-secret-0123456789abcdef0123",
                # the simulator writes CDR times without an offset in UTC
                "PBX_TIMEZONE": "UTC",
            })
        # Every process runs the same offset ahead of the real clock, so they
        # all agree on the fake time to the millisecond.
        self.offset_ms = 0
        if fake_time is not None:
            self.offset_ms = round((fake_time - time.time()) * 1000)
            self.env["CLOCK_OFFSET_MS"] = str(self.offset_ms)
        # web-api's first account (its routes need a login): see web_token().
        self.env["WEB_ADMIN_PASSWORD"] = WEB_ADMIN_PASSWORD
        self.env.update(env or {})
        # Calendars in tests are served from 127.0.0.1 (docs/calendars.md).
        self.env.setdefault("SOURCE_ALLOW_PRIVATE_ADDRESSES", "true")
        self.web_token_value = None
        self.procs = {}
        self.bus = self.client(TEST_USER)

    def start_broker(self):
        self.broker = Process("mosquitto", [MOSQUITTO, "-c", self.broker_conf],
                              dict(os.environ), self.logdir).start()
        wait_port(self.mqtt_port)
        return self.broker

    def restart_broker(self, down_seconds=0.0):
        """Stops the broker (SIGTERM: with persistence on, it saves its
        sessions and retained messages) and starts it again."""
        self.broker.stop()
        time.sleep(down_seconds)
        return self.start_broker()

    def client(self, user, **kwargs):
        """A recording MQTT client logged in as `user` (None: anonymous)."""
        return Bus(self.mqtt_port, user, broker_password(self.mqtt_dir, user) if user else None,
                   **kwargs)

    def fake_now(self):
        return time.time() + self.offset_ms / 1000

    def real_time_of(self, fake_instant):
        return fake_instant - self.offset_ms / 1000

    def binary(self, service):
        return os.path.join(BUILD, "services", service, service)

    def start(self, *services, wait=True):
        for s in services or SERVICES:
            since = time.time()
            p = Process(s, [self.binary(s)], self.env, self.logdir).start()
            self.procs[s] = p
            if wait:
                self.bus.wait(f"svc/{s}/availability", lambda v: v == "online",
                              since=since)
        if "web-api" in (services or SERVICES):
            wait_port(self.web_port)
        return self

    def run_cli(self, service, *args, timeout=30):
        return subprocess.run([self.binary(service), *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    # ---- PBX simulator control API ----
    def sim_get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.sim_port}{path}", timeout=10) as r:
            return json.loads(r.read())

    def sim_post(self, path, body):
        req = urllib.request.Request(f"http://127.0.0.1:{self.sim_port}{path}",
                                     data=json.dumps(body).encode(), method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"{}")

    def sim_updates(self):
        return [r for r in self.sim_get("/sim/requests")
                if r["path"].endswith("/extension/update") and r["http_status"] == 200
                and r.get("errcode") == 0]

    def wait_sim_update(self, ext_id, status, timeout=20.0, after_seq=0):
        deadline = time.time() + timeout
        while time.time() < deadline:
            for r in self.sim_updates():
                body = json.loads(r["body"])
                if r["seq"] > after_seq and body == {"id": ext_id, "presence_status": status}:
                    return r
            time.sleep(0.05)
        raise AssertionError(f"the PBX never received id={ext_id} -> {status}; "
                             f"updates: {[u['body'] for u in self.sim_updates()]}")

    # ---- web-api ----
    def web_token(self):
        """An admin API token (created once through a login), or None when
        the admin password is not the harness's."""
        if self.web_token_value is None and self.env.get("WEB_ADMIN_PASSWORD") == WEB_ADMIN_PASSWORD:
            base = f"http://127.0.0.1:{self.web_port}"
            req = urllib.request.Request(base + "/api/login", method="POST", data=json.dumps(
                {"username": "admin", "password": WEB_ADMIN_PASSWORD}).encode(),
                headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=10) as r:
                csrf = json.loads(r.read())["csrf_token"]
                cookie = r.headers["Set-Cookie"].split(";")[0]
            req = urllib.request.Request(base + "/api/tokens", method="POST",
                                         data=b'{"name":"harness"}',
                                         headers={"Content-Type": "application/json",
                                                  "Cookie": cookie, "X-CSRF-Token": csrf})
            with urllib.request.urlopen(req, timeout=10) as r:
                self.web_token_value = json.loads(r.read())["token"]
        return self.web_token_value

    def http(self, method, path, body=None, headers=None):
        data = body if isinstance(body, (bytes, type(None))) else json.dumps(body).encode()
        headers = dict(headers or {})
        if "Authorization" not in headers and self.web_token():
            headers["Authorization"] = f"Bearer {self.web_token()}"
        req = urllib.request.Request(f"http://127.0.0.1:{self.web_port}{path}", data=data,
                                     method=method, headers=headers)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read() or b"null"), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"null"), dict(e.headers)

    def stop(self):
        codes = {}
        for name, p in self.procs.items():
            codes[name] = p.stop()
        self.bus.close()
        if self.sim:
            self.sim.stop()
        self.broker.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
        return codes

    def sanitizer_reports(self):
        """ASan/UBSan findings in any service log (empty when clean)."""
        found = []
        for p in self.procs.values():
            text = p.log()
            for marker in ("ERROR: AddressSanitizer", "runtime error:",
                           "ERROR: LeakSanitizer"):
                if marker in text:
                    found.append(f"{p.name}: {marker}")
        return found

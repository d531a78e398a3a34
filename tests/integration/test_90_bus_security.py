"""The bus is closed (docs/security.md). The broker refuses
anonymous clients and wrong passwords; each user may publish only what
deploy/mosquitto/acl.template gives it; web-api ignores an answer that does
not come from the service it asked; and a command the broker accepted
reaches the scheduler after the scheduler restarts, is killed, or the broker
itself restarts (persistent sessions, broker persistence). Last, a service
reaches a TLS broker with MQTT_CA_FILE and a client certificate."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(__file__))
from harness import (MOSQUITTO, ROOT, TEST_USER, Bus, Process, Stack,  # noqa: E402
                     broker_password, free_port, wait_port)


def override_is(status):
    return lambda p: isinstance(p, dict) and p.get("status") == status


class BusSecurity(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack("90_bus_security", broker_persistence=True,
                          env={"WEB_COMMAND_TIMEOUT_MS": "3000"}).start()
        directory = cls.stack.bus.wait("site/main/directory",
                                       lambda p: isinstance(p, dict) and p.get("extensions"))
        cls.exts = [e["number"] for e in directory["extensions"]]

    @classmethod
    def tearDownClass(cls):
        reports = cls.stack.sanitizer_reports()
        cls.stack.stop()
        assert not reports, reports

    def login(self, user, **kw):
        """A recording client of `user` (None: anonymous), closed after the test."""
        bus = self.stack.client(user, **kw)
        self.addCleanup(bus.close)
        return bus

    def connack(self, user, password):
        bus = Bus(self.stack.mqtt_port, user, password, subscribe=False)
        self.addCleanup(bus.close)
        return bus.wait_connack()

    def test_1_anonymous_and_wrong_password_are_refused(self):
        self.assertNotEqual(self.connack(None, None), 0)
        self.assertNotEqual(self.connack("controller", "not-the-password"), 0)
        # A service's user name with another user's password.
        self.assertNotEqual(self.connack("scheduler", broker_password(self.stack.mqtt_dir,
                                                                      "controller")), 0)
        self.assertEqual(self.connack("controller", broker_password(self.stack.mqtt_dir,
                                                                    "controller")), 0)

    def check_refused(self, user, forbidden, marker):
        """Publishes every (topic, payload, retain) of `forbidden` as `user`,
        then `marker` (allowed; topic, payload as sent, as decoded): once a
        superuser sees the marker, it would
        have seen any earlier message of the same client (MQTT keeps one
        client's order), so none may have got through."""
        spy = self.login(TEST_USER, pattern="#")
        client = self.login(user, subscribe=False)
        self.assertEqual(client.wait_connack(), 0)
        for topic, payload, retain in forbidden:
            client.publish(topic, payload, retain)
        client.publish_abs(marker[0], marker[1])
        spy.wait(marker[0].removeprefix(ROOT + "/"), lambda p: p == marker[2])
        sent = {(f[0], f[1]) for f in forbidden}
        with spy.cond:
            leaked = [(m[1], m[2]) for m in spy.messages if (m[1], m[2]) in sent]
        self.assertEqual(leaked, [], f"{user} could publish {leaked}")

    def test_2_observer_can_only_watch(self):
        ext = self.exts[0]
        forbidden = [
            (f"ext/main/{ext}/override/set", "away", False),
            (f"ext/main/{ext}/desired", '{"status":"away","cause":"override"}', True),
            (f"ext/main/{ext}/schedule", '{"slots":[]}', True),
            ("svc/scheduler/availability", "forged-offline", True),
            ("events/override", '{"actor":"admin"}', False),
            ("svc/ical-ingest/request/source/list", '{"transaction":"x"}', False),
            (f"ext/main/{ext}/call", '{"state":"idle"}', True),
            ("site/main/calls", '{"site":"main","calls":[]}', True),
            ("events/cdr", '{"site":"main"}', False),
            ("svc/yeastar-gateway/request/call/dial", '{"transaction":"x"}', False),
        ]
        self.check_refused("observer", forbidden,
                           ("homeassistant/status", "online", "online"))
        # What it may do: read state.
        watcher = self.login("observer", pattern=f"{ROOT}/ext/main/{ext}/desired")
        watcher.wait(f"ext/main/{ext}/desired", lambda p: isinstance(p, dict))
        # and what the phones are doing: its call state, the site's calls
        calls = self.login("observer", pattern=f"{ROOT}/site/main/calls")
        calls.wait("site/main/calls", lambda p: isinstance(p, dict) and p["site"] == "main")
        call = self.login("observer", pattern=f"{ROOT}/ext/main/{ext}/call")
        call.wait(f"ext/main/{ext}/call", lambda p: isinstance(p, dict) and "state" in p)

    def test_3_controller_sets_overrides_and_nothing_else(self):
        ext = self.exts[1]
        forbidden = [
            (f"ext/main/{ext}/desired", '{"status":"away","cause":"override"}', True),
            (f"ext/main/{ext}/state", '{"status":"away"}', True),
            (f"ext/main/{ext}/override", '{"status":"away"}', True),
            ("site/main/directory", '{"extensions":[]}', True),
            ("svc/scheduler/availability", "forged-offline", True),
            ("svc/scheduler/response/command", '{"status":"ok"}', False),
            ("svc/ical-ingest/response/source/list", '{"status":"ok"}', False),
            ("svc/ical-ingest/request/source/add", '{"kind":"url"}', False),
            ("site/main/pbx_event", '{"event":30009}', False),
            ("events/apply", '{"actor":"admin"}', False),
        ]
        command = {"status": "lunch", "reason": "bus-security", "by": "ha"}
        marker = (f"{ROOT}/ext/main/{ext}/override/set", json.dumps(command), command)
        self.check_refused("controller", forbidden, marker)
        # The override it may set was applied.
        self.stack.bus.wait(f"ext/main/{ext}/override",
                            lambda p: isinstance(p, dict) and p.get("status") == "lunch")

    def test_4_a_forged_answer_is_ignored(self):
        """web-api asks ical-ingest (frozen, so it cannot answer); a client
        allowed everywhere answers on another service's response topic with
        the right transaction: web-api must not take it."""
        spy = self.login(TEST_USER, pattern=f"{ROOT}/svc/ical-ingest/request/#")
        ingest = self.stack.procs["ical-ingest"].proc
        os.kill(ingest.pid, signal.SIGSTOP)
        result = {}
        try:
            t = threading.Thread(target=lambda: result.update(
                answer=self.stack.http("GET", "/api/sources")))
            t.start()
            request = spy.wait("svc/ical-ingest/request/source/list")
            forged = {"status": "ok", "transaction": request["transaction"],
                      "data": {"sources": [{"id": "forged"}]}}
            spy.publish("svc/scheduler/response/source/list", json.dumps(forged))
            spy.publish("svc/web-api/response/source/list", json.dumps(forged))
            t.join(20)
        finally:
            os.kill(ingest.pid, signal.SIGCONT)
        status, body, _ = result["answer"]
        self.assertEqual(status, 504, body)
        self.assertNotIn("forged", json.dumps(body))
        self.assertIn("only ical-ingest answers it", self.stack.procs["web-api"].log())

    def override_many(self, client, exts, status, tag):
        for e in exts:
            client.publish(f"ext/main/{e}/override/set",
                           json.dumps({"status": status, "reason": tag, "by": "ha"}))

    def wait_overrides(self, exts, status):
        watcher = self.login(TEST_USER, pattern=f"{ROOT}/ext/main/+/override")
        for e in exts:
            watcher.wait(f"ext/main/{e}/override", override_is(status))

    def test_5_commands_wait_for_a_restarting_scheduler(self):
        exts = self.exts[2:5]
        controller = self.login("controller", subscribe=False)
        self.assertEqual(controller.wait_connack(), 0)
        self.stack.procs["scheduler"].stop()
        self.override_many(controller, exts, "business_trip", "while-stopped")
        self.stack.start("scheduler")
        self.wait_overrides(exts, "business_trip")
        # The same after a kill -9: the broker keeps the session.
        self.stack.procs["scheduler"].kill9()
        self.override_many(controller, exts, "off_work", "while-killed")
        self.stack.start("scheduler", wait=False)
        self.wait_overrides(exts, "off_work")

    def test_6_commands_survive_a_broker_restart(self):
        exts = self.exts[5:8]
        self.stack.restart_broker()
        # At once, before the services had time to reconnect.
        controller = self.login("controller", subscribe=False)
        self.assertEqual(controller.wait_connack(), 0)
        self.override_many(controller, exts, "do_not_disturb", "broker-restart")
        self.wait_overrides(exts, "do_not_disturb")
        # And the PBX follows: the gateway's session came back too.
        spy = self.login(TEST_USER, pattern=f"{ROOT}/ext/main/+/state")
        for e in exts:
            spy.wait(f"ext/main/{e}/state", lambda p: isinstance(p, dict) and p.get("in_sync")
                     and p.get("status") == "do_not_disturb")


def make_tls(directory):
    """A CA, a server certificate for 127.0.0.1 and a client certificate."""
    def run(*args):
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=directory)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=pb-test-ca",
        "-keyout", "ca.key", "-out", "ca.crt")
    for name in ("server", "client"):
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}",
            "-keyout", f"{name}.key", "-out", f"{name}.csr")
        with open(os.path.join(directory, f"{name}.ext"), "w") as f:
            f.write("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key",
            "-CAcreateserial", "-days", "2", "-out", f"{name}.crt", "-extfile", f"{name}.ext")


class BusTls(unittest.TestCase):
    def test_service_over_tls_with_a_client_certificate(self):
        stack = Stack("90_bus_tls", sim=False)
        try:
            tls = tempfile.mkdtemp(prefix="pb-tls-", dir=stack.dir)
            make_tls(tls)
            port = free_port()
            conf = os.path.join(tls, "mosquitto.conf")
            with open(conf, "w") as f:
                f.write(f"listener {port} 127.0.0.1\nallow_anonymous false\n"
                        f"password_file {stack.mqtt_dir}/passwd\nacl_file {stack.mqtt_dir}/acl\n"
                        f"cafile {tls}/ca.crt\ncertfile {tls}/server.crt\nkeyfile {tls}/server.key\n"
                        "require_certificate true\n")
                if os.getuid() == 0:
                    f.write("user root\n")
            broker = Process("mosquitto-tls", [MOSQUITTO, "-c", conf], dict(os.environ),
                             stack.logdir).start()
            self.addCleanup(broker.stop)
            wait_port(port)
            env = dict(stack.env, MQTT_URL=f"mqtts://127.0.0.1:{port}",
                       MQTT_CA_FILE=f"{tls}/ca.crt", MQTT_CERT_FILE=f"{tls}/client.crt",
                       MQTT_KEY_FILE=f"{tls}/client.key", ALLOW_UNLISTED_EXTENSIONS="true")
            svc = Process("scheduler", [stack.binary("scheduler")], env, stack.logdir).start()
            self.addCleanup(svc.stop)
            rec = Bus(port, TEST_USER, broker_password(stack.mqtt_dir, TEST_USER),
                      pattern=f"{ROOT}/svc/scheduler/availability",
                      tls=(f"{tls}/ca.crt", f"{tls}/client.crt", f"{tls}/client.key"))
            self.addCleanup(rec.close)
            self.assertEqual(rec.wait_connack(), 0)
            rec.wait("svc/scheduler/availability", lambda p: p == "online")
        finally:
            stack.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)

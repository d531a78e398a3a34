"""Several PBX sites in one yeastar-gateway, against a real mosquitto and
PBX simulators (one of them over HTTPS with a self-signed certificate):
site/add|update|remove|list|test on the bus, a wrong secret that is
reported clearly while the other sites keep working, sites kept across a
restart with their secret sealed, site/test naming exactly what failed
(DNS, TCP, TLS, API disabled, IP allow-list, credentials), TLS verified by
default, a CA file or a pinned key for a self-signed PBX, the insecure
switch warned at every start, and the secret never in logs, on the bus or
in answers."""
import base64
import hashlib
import json
import os
import ssl
import subprocess
import time
import unittest
import urllib.request

from harness import SIM_BIN, Process, Stack, free_port, read_file, rfc3339

MAIN_SECRET = "demo-secret-0123456789abcdef0123"
B_SECRET = "site-b-secret-4c1d9e0f5a7b3c2d1e"
WRONG_SECRET = "wrong-secret-zz99yy88xx77ww66vv"
TLS_SECRET = "tls-site-secret-abcdef0123456789"
SECRETS = (MAIN_SECRET, B_SECRET, WRONG_SECRET, TLS_SECRET)


def desired(status):
    return json.dumps({"status": status, "cause": "override", "since": rfc3339(time.time()),
                       "next_change": None, "slot": None, "override": None})


def start_sim(stack, name, *args):
    """Another simulator beside the stack's own; returns its port."""
    port_file = os.path.join(stack.dir, f"{name}.port")
    proc = Process(name, [SIM_BIN, "--listen", "127.0.0.1:0", "--port-file", port_file,
                          *args], dict(os.environ), stack.logdir).start()
    stack.extra_sims.append(proc)
    deadline = time.time() + 10
    while not read_file(port_file).strip():
        if time.time() > deadline:
            raise TimeoutError(f"{name} did not start")
        time.sleep(0.05)
    port = int(read_file(port_file).strip())
    scheme = "https" if "--tls-cert" in args else "http"
    stack.extra_urls.append(f"{scheme}://127.0.0.1:{port}")
    return port


def make_cert(directory):
    """A self-signed certificate for 127.0.0.1 and the sha256 pin of its key."""
    cert, key = os.path.join(directory, "pbx.pem"), os.path.join(directory, "pbx.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    spki = subprocess.run(["openssl", "x509", "-in", cert, "-pubkey", "-noout"],
                          check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=spki,
                         check=True, capture_output=True).stdout
    pin = "sha256//" + base64.b64encode(hashlib.sha256(der).digest()).decode()
    return cert, key, pin


class Sites(unittest.TestCase):
    def setUp(self):
        self.stack = Stack(f"73_gateway_{self._testMethodName}",
                           sim_args=["--extensions", "3"])
        self.stack.extra_sims = []
        self.stack.extra_urls = []

    def tearDown(self):
        s = self.stack
        # No request ever went out without a User-Agent, to any PBX.
        insecure = ssl.create_default_context()
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        for base in [f"http://127.0.0.1:{s.sim_port}"] + s.extra_urls:
            with urllib.request.urlopen(base + "/sim/requests", context=insecure) as f:
                for r in json.loads(f.read()):
                    self.assertTrue(r["user_agent"], f"request without User-Agent: {r}")
        for p in s.extra_sims:
            p.stop()
        codes = s.stop()
        self.assertEqual(s.sanitizer_reports(), [])
        for name, code in codes.items():
            self.assertEqual(code, 0, f"{name} exited with {code}")
        # The secrets never leave: not in logs, not in anything published
        # (the requests the test itself sent carry them, nothing else may).
        log = "".join(p.log() for p in s.procs.values())
        published = [m for m in s.bus.messages
                     if not m[1].startswith("svc/yeastar-gateway/request/")]
        for secret in SECRETS:
            self.assertNotIn(secret, log)
            for m in published:
                self.assertNotIn(secret, m[2], m[1])

    def request(self, action, body):
        return self.stack.bus.request("yeastar-gateway", action, body, timeout=20)

    def start_gateway(self):
        since = time.time()
        self.stack.start("yeastar-gateway")
        return since

    def test_several_sites_and_a_wrong_secret(self):
        s = self.stack
        b_port = start_sim(s, "sim-b", "--extensions", "4", "--client-id", "site-b",
                           "--client-secret", B_SECRET, "--quiet")
        since = self.start_gateway()
        s.bus.wait("site/main/directory", since=since)
        b = {"name": "b", "url": f"http://127.0.0.1:{b_port}", "client_id": "site-b",
             "client_secret": WRONG_SECRET}
        r = self.request("site/add", b)
        self.assertEqual(r["status"], "ok", r)
        self.assertEqual(r["data"]["source"], "bus")
        self.assertTrue(r["data"]["secret_set"])
        self.assertNotIn("client_secret", r["data"])
        st = s.bus.wait("site/b/status", lambda p: p["state"] == "auth_failed", since=since)
        self.assertIn("refused the client id or secret", st["error"])
        ev = s.bus.wait("events/pbx_error", lambda p: p["site"] == "b", since=since)
        self.assertEqual(ev["state"], "auth_failed")
        # The other site keeps working.
        s.bus.publish("ext/main/2001/desired", desired("away"), retain=True)
        s.wait_sim_update(2, "away")
        t = self.request("site/test", {"name": "b"})
        self.assertEqual(t["status"], "error")
        self.assertTrue(t["error"].startswith("credentials failed"), t["error"])
        self.assertEqual([(c["check"], c["result"]) for c in t["details"]],
                         [("dns", "ok"), ("tcp", "ok"), ("tls", "skipped"), ("api", "ok"),
                          ("allow_list", "ok"), ("credentials", "failed")])
        # The right secret: the site logs in at once and works.
        r = self.request("site/update", {"name": "b", "client_secret": B_SECRET})
        self.assertEqual(r["status"], "ok", r)
        d = s.bus.wait("site/b/directory", lambda p: len(p["extensions"]) == 4,
                       since=since)
        self.assertEqual(d["site"], "b")
        s.bus.wait("site/b/status", lambda p: p["state"] == "ok", since=since)
        s.bus.publish("ext/b/2003/desired", desired("lunch"), retain=True)
        s.bus.wait("ext/b/2003/state", lambda p: p["status"] == "lunch" and p["in_sync"])
        t = self.request("site/test", {"name": "b"})
        self.assertEqual(t["status"], "ok", t)
        self.assertEqual(t["data"]["extensions"], 4)
        sites = self.request("site/list", {})["data"]["sites"]
        self.assertEqual([(x["name"], x["source"], x["state"]) for x in sites],
                         [("main", "config", "ok"), ("b", "bus", "ok")])
        # Kept across a restart, token included (sim-b counts one login).
        s.procs["yeastar-gateway"].stop()
        since = self.start_gateway()
        s.bus.wait("site/b/directory", since=since)
        with urllib.request.urlopen(f"http://127.0.0.1:{b_port}/sim/stats") as f:
            self.assertEqual(json.loads(f.read())["logins"], 1)
        with open(os.path.join(s.dir, "data", "yeastar-gateway.db"), "rb") as f:
            self.assertNotIn(B_SECRET.encode(), f.read(), "the secret is stored in clear")
        # Removed: its retained topics are deleted and it does not come back.
        def revoked():
            with urllib.request.urlopen(f"http://127.0.0.1:{b_port}/sim/requests") as f:
                return [r for r in json.loads(f.read())
                        if r["path"].endswith("/del_token") and r.get("errcode") == 0]
        revoked_before = len(revoked())  # site/test revokes the tokens it gets
        r = self.request("site/remove", {"name": "b"})
        self.assertEqual(r["status"], "ok", r)
        s.bus.wait("site/b/directory", lambda p: p == "", since=since)
        s.bus.wait("site/b/status", lambda p: p == "", since=since)
        s.bus.wait("ext/b/2003/state", lambda p: p == "", since=since)
        # Its token is revoked on the PBX (it would hold a token slot there
        # until it expired otherwise).
        deadline = time.time() + 10
        while len(revoked()) == revoked_before and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(len(revoked()), revoked_before + 1)
        s.procs["yeastar-gateway"].stop()
        since = self.start_gateway()
        s.bus.wait("site/main/directory", since=since)
        sites = self.request("site/list", {})["data"]["sites"]
        self.assertEqual([x["name"] for x in sites], ["main"])

    def test_site_test_names_what_failed(self):
        s = self.stack
        self.start_gateway()
        closed = free_port()
        cases = [
            ({"url": "https://pbx.invalid:8088"}, "dns"),
            ({"url": f"http://127.0.0.1:{closed}"}, "tcp"),
        ]
        for extra, failed in cases:
            body = {"url": "", "client_id": "presencebus-demo", "client_secret": MAIN_SECRET}
            body.update(extra)
            t = self.request("site/test", body)
            self.assertEqual(t["status"], "error", t)
            self.assertTrue(t["error"].startswith(f"{failed} failed"), t["error"])
            self.assertEqual(t["details"][-1]["check"], failed)
        # API off, then an allow-list without us, on the site as configured:
        # both are reported by site/test and by the running site's status.
        s.sim_post("/sim/config", {"api_enabled": False})
        t = self.request("site/test", {"name": "main"})
        self.assertTrue(t["error"].startswith("api failed"), t)
        self.assertIn("is the API enabled", t["error"])
        since = time.time()
        # A read that meets the closed API (its answer waits for the PBX).
        s.bus.publish("svc/yeastar-gateway/request/directory/refresh",
                      json.dumps({"site": "main"}))
        s.bus.wait("site/main/status", lambda p: p["state"] == "api_disabled", since=since)
        s.sim_post("/sim/config", {"api_enabled": True, "allowed_ips": ["10.9.9.9"]})
        t = self.request("site/test", {"name": "main"})
        self.assertTrue(t["error"].startswith("allow_list failed"), t)
        self.assertIn("70087", t["error"])
        s.bus.wait("site/main/status", lambda p: p["state"] == "forbidden", since=since,
                   timeout=30)
        s.sim_post("/sim/config", {"allowed_ips": []})
        s.bus.wait("site/main/status", lambda p: p["state"] == "ok", since=since, timeout=30)
        s.bus.wait("events/pbx_recovered", since=since)
        t = self.request("site/test", {"name": "main"})
        self.assertEqual(t["status"], "ok", t)
        # Testing never keeps a token: the site holds one, nothing more.
        self.assertEqual(s.sim_get("/sim/stats")["live_tokens"], 1)

    def test_tls_verified_by_default_ca_pin_and_insecure(self):
        s = self.stack
        cert, key, pin = make_cert(s.dir)
        port = start_sim(s, "sim-tls", "--extensions", "2", "--client-id", "tls-site",
                         "--client-secret", TLS_SECRET, "--tls-cert", cert, "--tls-key",
                         key, "--quiet")
        url = f"https://127.0.0.1:{port}"
        base = {"url": url, "client_id": "tls-site", "client_secret": TLS_SECRET}
        self.start_gateway()
        t = self.request("site/test", base)
        self.assertTrue(t["error"].startswith("tls failed"), t)
        self.assertIn("ca_file", t["error"])
        self.assertEqual([c["result"] for c in t["details"]], ["ok", "ok", "failed"])
        for extra in ({"ca_file": cert}, {"pinned_public_key": pin}, {"insecure": True}):
            t = self.request("site/test", dict(base, **extra))
            self.assertEqual(t["status"], "ok", (extra, t))
        wrong = "sha256//" + base64.b64encode(b"\0" * 32).decode()
        t = self.request("site/test", dict(base, pinned_public_key=wrong))
        self.assertTrue(t["error"].startswith("tls failed"), t)
        self.assertIn("pinned", t["error"])
        # Running sites: the pinned one works over HTTPS; the unverified one
        # is refused until it is given the CA.
        since = time.time()
        r = self.request("site/add", dict(base, name="pinned", pinned_public_key=pin))
        self.assertEqual(r["status"], "ok", r)
        s.bus.wait("site/pinned/directory", lambda p: len(p["extensions"]) == 2, since=since)
        s.bus.publish("ext/pinned/2001/desired", desired("business_trip"), retain=True)
        s.bus.wait("ext/pinned/2001/state", lambda p: p["status"] == "business_trip")
        r = self.request("site/add", dict(base, name="unverified"))
        self.assertEqual(r["status"], "ok", r)
        st = s.bus.wait("site/unverified/status", lambda p: p["state"] == "tls_failed",
                        since=since)
        self.assertIn("not trusted", st["error"])
        r = self.request("site/update", {"name": "unverified", "ca_file": cert})
        self.assertEqual(r["status"], "ok", r)
        s.bus.wait("site/unverified/directory", since=since)
        # The insecure switch is warned about at every start of the site.
        r = self.request("site/add", dict(base, name="insecure", insecure=True))
        self.assertEqual(r["status"], "ok", r)
        s.bus.wait("site/insecure/directory", since=since)
        s.procs["yeastar-gateway"].stop()
        since = self.start_gateway()
        s.bus.wait("site/insecure/directory", since=since)
        log = s.procs["yeastar-gateway"].log()
        self.assertEqual(log.count("site insecure: TLS certificate verification is OFF"), 2)
        self.assertEqual(log.count("site pinned: TLS certificate verification is OFF"), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)

#!/usr/bin/env python3
"""Integration test for tools/pbx-simulator: starts the real binary on a free
port and checks that it enforces the Yeastar P-Series Open API rules it
claims to (the vendor's documentation, tools/pbx-simulator/README.md)
and that its /sim/ control API works.

Run: /usr/bin/python3 tests/integration/test_10_pbx_simulator.py
Binary: $PB_SIM_BIN, else /tmp/pbx-simulator. Standard library only."""

import atexit
import ctypes
import http.client
import json
import os
import signal
import subprocess
import tempfile
import threading
import time
import unittest
import urllib.parse

SIM_BIN = os.environ.get("PB_SIM_BIN", "/tmp/pbx-simulator")
CLIENT_ID = "presencebus-demo"
CLIENT_SECRET = "demo-secret-0123456789abcdef0123"
UA = "PresenceBus-test/1.0"
API = "/openapi/v1.0/"
PRESENCES = {"available", "away", "business_trip", "do_not_disturb", "lunch",
             "off_work"}
DEVICES = {"sip_phone", "linkus_desktop", "linkus_mobile", "linkus_web",
           "fxs_phone"}
SANITIZER_MARKS = ("AddressSanitizer", "LeakSanitizer", "ThreadSanitizer",
                   "UndefinedBehaviorSanitizer", "runtime error:")


RUNNING = set()  # simulators not yet stopped, killed at exit as a last resort


def _die_with_parent():
    """In the child: get SIGTERM if this test process dies (Linux)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PDEATHSIG
    except (OSError, AttributeError):
        pass


@atexit.register
def _kill_leftovers():
    for proc in list(RUNNING):
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class Sim:
    """One simulator process on a free port, stopped by stop()."""

    def __init__(self, *args):
        self.tmp = tempfile.TemporaryDirectory(prefix="pbsim-")
        port_file = os.path.join(self.tmp.name, "port")
        self.stderr_path = os.path.join(self.tmp.name, "stderr")
        self.stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [SIM_BIN, "--listen", "127.0.0.1:0", "--port-file", port_file,
             "--quiet", *args],
            stdout=subprocess.DEVNULL, stderr=self.stderr,
            preexec_fn=_die_with_parent)
        RUNNING.add(self.proc)
        self.port = None
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with open(port_file) as f:
                    text = f.read().strip()
                if text:
                    self.port = int(text)
                    break
            except FileNotFoundError:
                pass
            time.sleep(0.02)
        if self.port is None:
            self.stop()
            raise RuntimeError("simulator did not start: " + self.log_text())

    def log_text(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self):
        """Stops the process; returns (exit code, stderr text)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        RUNNING.discard(self.proc)
        self.stderr.close()
        text = self.log_text()
        self.tmp.cleanup()
        return self.proc.returncode, text

    # ---- HTTP ----

    def raw(self, method, path, query=None, body=None, headers=None,
            ua=UA, timeout=15):
        """Returns (status, headers dict, body bytes)."""
        target = path
        if query:
            target += "?" + urllib.parse.urlencode(query)
        hdrs = dict(headers or {})
        if ua is not None:
            hdrs["User-Agent"] = ua
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                          timeout=timeout)
        try:
            # putrequest: no default headers beyond Host, so User-Agent is
            # present only when the test asks for it.
            conn.putrequest(method, target, skip_accept_encoding=True)
            for k, v in hdrs.items():
                conn.putheader(k, v)
            if data is not None:
                conn.putheader("Content-Length", str(len(data)))
            conn.endheaders(data)
            resp = conn.getresponse()
            return resp.status, dict(resp.getheaders()), resp.read()
        finally:
            conn.close()

    def call(self, method, path, **kw):
        """Returns (status, parsed JSON body)."""
        status, _, data = self.raw(method, path, **kw)
        return status, json.loads(data)

    def api(self, method, endpoint, token=None, query=None, **kw):
        q = dict(query or {})
        if token is not None:
            q["access_token"] = token
        return self.call(method, API + endpoint, query=q or None, **kw)

    def login(self, username=CLIENT_ID, password=CLIENT_SECRET):
        return self.api("POST", "get_token",
                        body={"username": username, "password": password})

    def token(self):
        status, j = self.login()
        assert status == 200 and j["errcode"] == 0, j
        return j["access_token"]

    def ctl(self, method, path, body=None, query=None):
        return self.call(method, "/sim/" + path, body=body, query=query,
                         ua=None)


class SimTestCase(unittest.TestCase):
    def start(self, *args):
        sim = Sim(*args)
        self.addCleanup(self.stop_sim, sim)
        return sim

    def stop_sim(self, sim):
        code, text = sim.stop()
        for mark in SANITIZER_MARKS:
            self.assertNotIn(mark, text, "sanitizer report:\n" + text)
        self.assertEqual(code, 0, "simulator exit status; stderr:\n" + text)

    def assertParamError(self, reply, field):
        status, j = reply
        self.assertEqual(status, 200, j)
        self.assertEqual(j["errcode"], 40002, j)
        self.assertEqual(j["errmsg"], "PARAMETER ERROR", j)
        fields = [p["field"] for p in j["invalid_param_list"]]
        self.assertIn(field, fields, j)


class TestFlags(unittest.TestCase):
    def test_help_lists_every_flag(self):
        out = subprocess.run([SIM_BIN, "--help"], capture_output=True,
                             text=True, timeout=10)
        self.assertEqual(out.returncode, 0)
        for flag in ("--listen", "--port-file", "--extensions", "--client-id",
                     "--client-secret", "--token-lifetime",
                     "--refresh-lifetime", "--max-tokens", "--max-page-size",
                     "--latency-ms", "--error-rate", "--outage", "--quiet",
                     "--api-disabled", "--allowed-ips", "--tls-cert",
                     "--tls-key"):
            self.assertIn(flag, out.stdout)

    def test_bad_flag_values_rejected(self):
        for args in (["--extensions", "abc"], ["--error-rate", "1.5"],
                     ["--max-tokens", "0"], ["--listen", "nowhere"],
                     ["--bogus"], ["--tls-cert", "/nonexistent"],
                     ["--tls-cert", "/nonexistent", "--tls-key", "/nonexistent"],
                     ["--allowed-ips", ",".join(["10.0.0.1"] * 17)]):
            out = subprocess.run([SIM_BIN, *args], capture_output=True,
                                 text=True, timeout=10)
            self.assertNotEqual(out.returncode, 0, args)


class TestStrictRequests(SimTestCase):
    def setUp(self):
        self.sim = self.start()
        self.tok = self.sim.token()

    def test_user_agent_required(self):
        for ua in (None, ""):
            status, j = self.sim.api("GET", "extension/list", self.tok, ua=ua)
            self.assertEqual(status, 403, j)
            self.assertNotEqual(j["errcode"], 0)
            self.assertEqual(j["invalid_param_list"][0]["field"], "User-Agent")
            status, j = self.sim.call(
                "POST", API + "get_token", ua=ua,
                body={"username": CLIENT_ID, "password": CLIENT_SECRET})
            self.assertEqual(status, 403, j)
            self.assertNotEqual(j["errcode"], 0)

    def test_wrong_method(self):
        for method, endpoint in (("GET", "get_token"), ("GET", "refresh_token"),
                                 ("GET", "extension/update"),
                                 ("POST", "extension/list"),
                                 ("POST", "extension/search"),
                                 ("POST", "extension/get"),
                                 ("POST", "del_token"),
                                 ("PUT", "extension/list")):
            status, headers, data = self.sim.raw(
                method, API + endpoint, query={"access_token": self.tok},
                body={} if method != "GET" else None)
            self.assertEqual(status, 405, (method, endpoint))
            self.assertNotEqual(json.loads(data)["errcode"], 0)
            self.assertIn("Allow", headers)

    def test_unknown_endpoint(self):
        status, j = self.sim.api("GET", "extension/delete", self.tok)
        self.assertEqual(status, 404)
        self.assertNotEqual(j["errcode"], 0)

    def test_connection_closed_after_response(self):
        _, headers, _ = self.sim.raw("GET", API + "extension/list",
                                     query={"access_token": self.tok})
        self.assertEqual(headers.get("Connection"), "close")

    def test_token_only_in_query(self):
        bearer = {"Authorization": "Bearer " + self.tok}
        status, j = self.sim.api("GET", "extension/list", headers=bearer)
        self.assertEqual((status, j["errcode"]), (200, 10002), j)
        status, j = self.sim.api("GET", "extension/list",
                                 headers={"access_token": self.tok})
        self.assertEqual(j["errcode"], 10002, j)
        status, j = self.sim.api("POST", "extension/update",
                                 body={"id": 1, "presence_status": "away",
                                       "access_token": self.tok})
        self.assertEqual(j["errcode"], 10002, j)
        status, j = self.sim.api("GET", "extension/list", token="")
        self.assertEqual(j["errcode"], 10002, j)
        status, j = self.sim.api("GET", "extension/list", token="x" * 32)
        self.assertEqual(j["errcode"], 10002, j)
        self.assertEqual(j["errmsg"], "INVALID TOKEN", j)
        # And in the query it works.
        status, j = self.sim.api("GET", "extension/list", self.tok)
        self.assertEqual(j["errcode"], 0, j)

    def test_body_too_large(self):
        big = b'{"id":1,"presence_status":"away","pad":"' + b"x" * 70000 + b'"}'
        status, _, data = self.sim.raw("POST", API + "extension/update",
                                       query={"access_token": self.tok},
                                       body=big)
        self.assertEqual(status, 413)
        self.assertEqual(json.loads(data)["errcode"], 40002)


class TestTokens(SimTestCase):
    def test_get_token_shape(self):
        sim = self.start()
        status, j = sim.login()
        self.assertEqual(status, 200)
        self.assertEqual(j["errcode"], 0)
        self.assertEqual(j["errmsg"], "SUCCESS")
        self.assertEqual(j["access_token_expire_time"], 1800)
        self.assertEqual(j["refresh_token_expire_time"], 86400)
        for key in ("access_token", "refresh_token"):
            self.assertRegex(j[key], r"^[A-Za-z0-9]{32}$")
        self.assertNotEqual(j["access_token"], j["refresh_token"])

    def test_bad_credentials(self):
        sim = self.start()
        expected = {"errcode": -1, "errmsg": "FAILURE",
                    "invalid_param_list": [{"field": "username or password",
                                            "value": "error"}]}
        self.assertEqual(sim.login(password="wrong"), (200, expected))
        self.assertEqual(sim.login(username="someone"), (200, expected))
        self.assertParamError(sim.api("POST", "get_token",
                                      body={"username": CLIENT_ID}),
                              "password")
        self.assertParamError(sim.api("POST", "get_token", body=b"not json"),
                              "body")
        _, stats = sim.ctl("GET", "stats")
        self.assertEqual(stats["failed_logins"], 2)
        self.assertEqual(stats["logins"], 0)
        self.assertEqual(stats["live_tokens"], 0)

    def test_custom_credentials(self):
        sim = self.start("--client-id", "abc", "--client-secret", "def")
        self.assertEqual(sim.login()[1]["errcode"], -1)
        self.assertEqual(sim.login("abc", "def")[1]["errcode"], 0)

    def test_token_cap(self):
        sim = self.start()
        tokens = [sim.token() for _ in range(8)]
        self.assertEqual(len(set(tokens)), 8)
        status, j = sim.login()
        self.assertEqual(status, 200)
        self.assertEqual(j["errcode"], 10005, j)
        self.assertNotIn("access_token", j)
        _, stats = sim.ctl("GET", "stats")
        self.assertEqual(stats["live_tokens"], 8)
        self.assertEqual(stats["token_limit_refusals"], 1)
        # Every token still works while the cap is reached.
        for t in tokens:
            self.assertEqual(sim.api("GET", "extension/list", t)[1]["errcode"],
                             0)
        # A revoked token no longer counts.
        self.assertEqual(sim.api("GET", "del_token", tokens[0])[1]["errcode"],
                         0)
        tokens[0] = sim.token()
        self.assertEqual(sim.login()[1]["errcode"], 10005)
        # Expired tokens no longer count.
        sim.ctl("POST", "expire_tokens")
        self.assertEqual(len([sim.token() for _ in range(8)]), 8)

    def test_refresh_does_not_count_twice(self):
        sim = self.start("--max-tokens", "2")
        _, a = sim.login()
        sim.token()
        status, j = sim.api("POST", "refresh_token",
                            body={"refresh_token": a["refresh_token"]})
        self.assertEqual(j["errcode"], 0, j)
        self.assertEqual(sim.ctl("GET", "stats")[1]["live_tokens"], 2)
        self.assertEqual(sim.login()[1]["errcode"], 10005)

    def test_token_expiry(self):
        sim = self.start("--token-lifetime", "2")
        status, pair = sim.login()
        self.assertEqual(pair["access_token_expire_time"], 2)
        tok = pair["access_token"]
        self.assertEqual(sim.api("GET", "extension/list", tok)[1]["errcode"], 0)
        time.sleep(2.5)
        status, j = sim.api("GET", "extension/list", tok)
        self.assertEqual(status, 200)
        self.assertEqual(j["errcode"], 10004, j)
        self.assertEqual(j["errmsg"], "TOKEN EXPIRED", j)
        self.assertEqual(sim.ctl("GET", "stats")[1]["live_tokens"], 0)
        # The refresh token outlives the access token.
        status, j = sim.api("POST", "refresh_token",
                            body={"refresh_token": pair["refresh_token"]})
        self.assertEqual(j["errcode"], 0, j)
        self.assertEqual(
            sim.api("GET", "extension/list", j["access_token"])[1]["errcode"],
            0)

    def test_refresh_invalidates_old_pair(self):
        sim = self.start()
        _, old = sim.login()
        status, new = sim.api("POST", "refresh_token",
                              body={"refresh_token": old["refresh_token"]})
        self.assertEqual(status, 200)
        self.assertEqual(new["errcode"], 0, new)
        self.assertEqual(set(new), set(old))
        self.assertRegex(new["access_token"], r"^[A-Za-z0-9]{32}$")
        self.assertNotEqual(new["access_token"], old["access_token"])
        self.assertNotEqual(new["refresh_token"], old["refresh_token"])
        _, j = sim.api("GET", "extension/list", old["access_token"])
        self.assertEqual(j["errcode"], 10002, j)
        _, j = sim.api("POST", "refresh_token",
                       body={"refresh_token": old["refresh_token"]})
        self.assertNotEqual(j["errcode"], 0, j)
        _, j = sim.api("GET", "extension/list", new["access_token"])
        self.assertEqual(j["errcode"], 0, j)
        self.assertEqual(sim.ctl("GET", "stats")[1]["refreshes"], 1)
        self.assertParamError(sim.api("POST", "refresh_token", body={}),
                              "refresh_token")

    def test_del_token(self):
        sim = self.start()
        tok = sim.token()
        self.assertEqual(sim.api("GET", "del_token", tok),
                         (200, {"errcode": 0, "errmsg": "SUCCESS"}))
        self.assertEqual(sim.api("GET", "extension/list", tok)[1]["errcode"],
                         10002)
        self.assertEqual(sim.api("GET", "del_token", tok)[1]["errcode"], 10002)

    def test_expire_tokens_control(self):
        sim = self.start()
        _, pair = sim.login()
        self.assertEqual(sim.ctl("POST", "expire_tokens")[0], 200)
        self.assertEqual(
            sim.api("GET", "extension/list", pair["access_token"])[1],
            {"errcode": 10004, "errmsg": "TOKEN EXPIRED"})
        _, j = sim.api("POST", "refresh_token",
                       body={"refresh_token": pair["refresh_token"]})
        self.assertEqual(j["errcode"], 10004, j)

    def test_config_changes_lifetimes(self):
        sim = self.start()
        status, cfg = sim.ctl("POST", "config", {"token_lifetime": 60,
                                                 "refresh_lifetime": 120})
        self.assertEqual(status, 200)
        self.assertEqual((cfg["token_lifetime"], cfg["refresh_lifetime"]),
                         (60, 120))
        _, j = sim.login()
        self.assertEqual(j["access_token_expire_time"], 60)
        self.assertEqual(j["refresh_token_expire_time"], 120)
        self.assertEqual(sim.ctl("POST", "config", {"bogus": 1})[0], 400)
        self.assertEqual(sim.ctl("POST", "config", {"error_rate": 2})[0], 400)


class TestExtensions(SimTestCase):
    def setUp(self):
        self.sim = self.start("--extensions", "25", "--max-page-size", "50")
        self.tok = self.sim.token()

    def list(self, **query):
        return self.sim.api("GET", "extension/list", self.tok, query=query)

    def test_item_shape(self):
        _, j = self.list(page_size=1)
        item = j["data"][0]
        self.assertEqual(item["id"], 1)
        self.assertEqual(item["number"], "2000")
        self.assertEqual(item["caller_id_name"], "Alice Martin")
        self.assertIsInstance(item["email_addr"], str)
        self.assertIsInstance(item["mobile_number"], str)
        self.assertEqual(item["presence_status"], "available")
        self.assertEqual(set(item["online_status"]), DEVICES)
        for dev in item["online_status"].values():
            self.assertIn(dev["status"], (0, 1))
        # Some devices are online across the directory.
        _, j = self.list(page_size=25)
        online = sum(d["status"] for i in j["data"]
                     for d in i["online_status"].values())
        self.assertGreater(online, 0)

    def test_pagination(self):
        seen = []
        for page, size in ((1, 10), (2, 10), (3, 5)):
            status, j = self.list(page=page, page_size=10)
            self.assertEqual((status, j["errcode"]), (200, 0), j)
            self.assertEqual(j["total_number"], 25)
            self.assertEqual(len(j["data"]), size)
            seen += [i["id"] for i in j["data"]]
        self.assertEqual(seen, list(range(1, 26)))
        _, j = self.list(page=4, page_size=10)
        self.assertEqual((j["total_number"], j["data"]), (25, []))
        _, j = self.list(page_size=50)
        self.assertEqual(len(j["data"]), 25)

    def test_sorting(self):
        _, j = self.list(sort_by="number", order_by="desc", page_size=3)
        self.assertEqual([i["number"] for i in j["data"]],
                         ["2024", "2023", "2022"])
        _, j = self.list(sort_by="caller_id_name", page_size=50)
        names = [i["caller_id_name"] for i in j["data"]]
        self.assertEqual(names, sorted(names))
        for field in ("id", "email_addr", "mobile_number", "presence_status"):
            self.assertEqual(self.list(sort_by=field)[1]["errcode"], 0, field)

    def test_paging_parameters_rejected(self):
        for query, field in (({"page": 0}, "page"), ({"page": "abc"}, "page"),
                             ({"page": "-1"}, "page"), ({"page": ""}, "page"),
                             ({"page_size": 0}, "page_size"),
                             ({"page_size": 51}, "page_size"),
                             ({"page_size": "1.5"}, "page_size"),
                             ({"sort_by": "name"}, "sort_by"),
                             ({"order_by": "up"}, "order_by")):
            self.assertParamError(self.list(**query), field)
        self.assertParamError(
            self.sim.api("GET", "extension/search", self.tok,
                         query={"search_value": "20", "page_size": 51}),
            "page_size")

    def test_default_max_page_size(self):
        sim = self.start()
        tok = sim.token()
        self.assertEqual(sim.api("GET", "extension/list", tok,
                                 query={"page_size": 100})[1]["errcode"], 0)
        self.assertParamError(sim.api("GET", "extension/list", tok,
                                      query={"page_size": 101}), "page_size")

    def test_search(self):
        _, j = self.sim.api("GET", "extension/search", self.tok,
                            query={"search_value": "2001"})
        self.assertEqual(j["errcode"], 0, j)
        self.assertEqual([i["number"] for i in j["data"]], ["2001"])
        self.assertEqual(j["total_number"], 1)
        _, j = self.sim.api("GET", "extension/search", self.tok,
                            query={"search_value": "alice"})
        self.assertIn("Alice Martin", [i["caller_id_name"] for i in j["data"]])
        self.assertEqual(j["total_number"], len(j["data"]))
        self.assertParamError(
            self.sim.api("GET", "extension/search", self.tok), "search_value")

    def test_get(self):
        _, j = self.sim.api("GET", "extension/get", self.tok,
                            query={"id": 2})
        self.assertEqual(j["errcode"], 0, j)
        self.assertEqual(j["data"]["id"], 2)
        self.assertEqual(j["data"]["number"], "2001")
        for value in ("999", "abc", "0", "1.0", ""):
            self.assertParamError(self.sim.api("GET", "extension/get",
                                               self.tok, query={"id": value}),
                                  "id")
        self.assertParamError(self.sim.api("GET", "extension/get", self.tok),
                              "id")

    def update(self, body):
        return self.sim.api("POST", "extension/update", self.tok, body=body)

    def test_update_rejections(self):
        cases = (({"id": 999, "presence_status": "away"}, "id"),
                 ({"id": "3", "presence_status": "away"}, "id"),
                 ({"id": 3.0, "presence_status": "away"}, "id"),
                 ({"presence_status": "away"}, "id"),
                 ({"id": 3, "presence_status": "sleeping"}, "presence_status"),
                 ({"id": 3, "presence_status": "Away"}, "presence_status"),
                 ({"id": 3}, "presence_status"),
                 ({"id": 3, "presence_status": "away", "color": "red"},
                  "color"),
                 (b'{"id": 3, "presence_status": "away"', "body"),
                 (b'{"id": 3, "id": 4, "presence_status": "away"}', "body"),
                 (b"[1, 2]", "body"),
                 (b"", "body"))
        for body, field in cases:
            self.assertParamError(self.update(body), field)
        _, j = self.sim.api("GET", "extension/get", self.tok,
                            query={"id": 3})
        self.assertEqual(j["data"]["presence_status"], "available")

    def test_update_success(self):
        self.sim.ctl("POST", "requests/clear")
        for presence in sorted(PRESENCES):
            self.assertEqual(self.update({"id": 3,
                                          "presence_status": presence}),
                             (200, {"errcode": 0, "errmsg": "SUCCESS"}))
        self.update({"id": 3, "presence_status": "off_work"})
        _, j = self.sim.api("GET", "extension/get", self.tok,
                            query={"id": 3})
        self.assertEqual(j["data"]["presence_status"], "off_work")
        _, log = self.sim.ctl("GET", "requests")
        updates = [r for r in log if r["path"] == API + "extension/update"]
        self.assertEqual(len(updates), len(PRESENCES) + 1)
        last = updates[-1]
        self.assertEqual(last["method"], "POST")
        self.assertEqual(json.loads(last["body"]),
                         {"id": 3, "presence_status": "off_work"})
        self.assertEqual(last["query"], "access_token=" + self.tok)
        self.assertEqual(last["user_agent"], UA)
        self.assertEqual((last["http_status"], last["errcode"]), (200, 0))
        seqs = [r["seq"] for r in log]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(log[-1]["path"], API + "extension/get")
        _, exts = self.sim.ctl("GET", "extensions")
        ext = [e for e in exts if e["id"] == 3][0]
        self.assertEqual(ext["presence_status"], "off_work")
        self.assertEqual(ext["presence_changed_by"], "api")
        # since= returns only newer entries; clear empties the log.
        _, newer = self.sim.ctl("GET", "requests",
                                query={"since": log[-2]["seq"]})
        self.assertEqual([r["seq"] for r in newer], [log[-1]["seq"]])
        self.sim.ctl("POST", "requests/clear")
        self.assertEqual(self.sim.ctl("GET", "requests")[1], [])


class TestControl(SimTestCase):
    def test_presence_on_the_phone(self):
        sim = self.start()
        tok = sim.token()
        self.assertEqual(sim.ctl("POST", "presence",
                                 {"number": "2001",
                                  "presence_status": "away"})[0], 200)
        _, j = sim.api("GET", "extension/get", tok, query={"id": 2})
        self.assertEqual(j["data"]["presence_status"], "away")
        _, exts = sim.ctl("GET", "extensions")
        self.assertEqual([e for e in exts if e["number"] == "2001"][0]
                         ["presence_changed_by"], "phone")
        self.assertEqual(sim.ctl("POST", "presence",
                                 {"number": "2001",
                                  "presence_status": "napping"})[0], 400)
        self.assertEqual(sim.ctl("POST", "presence",
                                 {"number": "9999",
                                  "presence_status": "away"})[0], 404)
        # Control requests are not in the Open API request log.
        _, log = sim.ctl("GET", "requests")
        self.assertFalse([r for r in log if r["path"].startswith("/sim/")])

    def test_directory_changes(self):
        sim = self.start()
        tok = sim.token()
        status, ext = sim.ctl("POST", "extensions",
                              {"number": "2100", "name": "New Person"})
        self.assertEqual(status, 201, ext)
        self.assertEqual(ext["id"], 11)
        _, j = sim.api("GET", "extension/list", tok)
        self.assertEqual(j["total_number"], 11)
        _, j = sim.api("GET", "extension/search", tok,
                       query={"search_value": "new person"})
        self.assertEqual([i["number"] for i in j["data"]], ["2100"])
        self.assertEqual(sim.ctl("POST", "extensions",
                                 {"number": "2100", "name": "Again"})[0], 409)
        self.assertEqual(sim.ctl("POST", "extensions", {"number": "x1",
                                                        "name": "Bad"})[0],
                         400)
        # Numbers sort as numbers: a shorter one comes first.
        self.assertEqual(sim.ctl("POST", "extensions",
                                 {"number": "999", "name": "Short Number",
                                  "presence_status": "lunch"})[0], 201)
        _, j = sim.api("GET", "extension/list", tok,
                       query={"sort_by": "number", "page_size": 1})
        self.assertEqual(j["data"][0]["number"], "999")
        self.assertEqual(j["data"][0]["presence_status"], "lunch")
        self.assertEqual(sim.ctl("POST", "extensions/remove",
                                 {"number": "999"})[0], 200)
        self.assertEqual(sim.ctl("POST", "extensions/remove",
                                 {"number": "2100"})[0], 200)
        self.assertEqual(sim.ctl("POST", "extensions/remove",
                                 {"number": "2100"})[0], 404)
        _, j = sim.api("GET", "extension/list", tok)
        self.assertEqual(j["total_number"], 10)
        self.assertParamError(sim.api("GET", "extension/get", tok,
                                      query={"id": 11}), "id")

    def test_concurrent_requests_with_latency(self):
        sim = self.start("--latency-ms", "500")
        tok = sim.token()
        results = []

        def one():
            results.append(sim.api("GET", "extension/list", tok)[1]["errcode"])

        threads = [threading.Thread(target=one) for _ in range(6)]
        began = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        elapsed = time.monotonic() - began
        self.assertEqual(results, [0] * 6)
        self.assertLess(elapsed, 6 * 0.5 * 0.6,
                        "requests were served one after another")
        _, stats = sim.ctl("GET", "stats")
        self.assertGreater(stats["max_in_flight"], 1)
        self.assertEqual(stats["requests"], 7)
        # A request leaves "in flight" when the server has finished with the
        # connection, which may be just after the client read the answer.
        deadline = time.monotonic() + 5
        while stats["in_flight"] != 0 and time.monotonic() < deadline:
            time.sleep(0.05)
            _, stats = sim.ctl("GET", "stats")
        self.assertEqual(stats["in_flight"], 0)

    def test_outage(self):
        sim = self.start("--outage")
        with self.assertRaises((http.client.HTTPException, OSError)):
            sim.login()
        self.assertEqual(sim.ctl("GET", "stats")[1]["dropped"], 1)
        _, log = sim.ctl("GET", "requests")
        self.assertEqual(log[-1]["http_status"], 0)
        self.assertEqual(sim.ctl("POST", "outage", {"on": False}),
                         (200, {"outage": False}))
        tok = sim.token()
        self.assertEqual(sim.ctl("POST", "outage", {"on": True})[0], 200)
        with self.assertRaises((http.client.HTTPException, OSError)):
            sim.api("GET", "extension/list", tok)
        self.assertEqual(sim.ctl("POST", "outage", {"on": "yes"})[0], 400)
        sim.ctl("POST", "outage", {"on": False})
        self.assertEqual(sim.api("GET", "extension/list", tok)[1]["errcode"],
                         0)

    def test_error_rate(self):
        sim = self.start("--error-rate", "1")
        status, _, _ = sim.raw("POST", API + "get_token",
                               body={"username": CLIENT_ID,
                                     "password": CLIENT_SECRET})
        self.assertEqual(status, 500)
        self.assertEqual(sim.ctl("GET", "stats")[1]["server_errors"], 1)
        _, cfg = sim.ctl("POST", "config", {"error_rate": 0, "latency_ms": 0})
        self.assertEqual(cfg["error_rate"], 0)
        self.assertEqual(sim.login()[1]["errcode"], 0)

    def test_control_errors(self):
        sim = self.start()
        self.assertEqual(sim.ctl("GET", "nothing")[0], 404)
        self.assertEqual(sim.ctl("POST", "stats", {})[0], 405)
        status, _, _ = sim.raw("POST", "/sim/presence", body=b"{bad", ua=None)
        self.assertEqual(status, 400)
        status, _, _ = sim.raw("GET", "/elsewhere")
        self.assertEqual(status, 404)


class TestFaults(SimTestCase):
    """Faults a PBX shows that the gateway must name or survive."""

    def test_api_disabled(self):
        sim = self.start("--api-disabled")
        status, headers, body = sim.raw("POST", API + "get_token",
                                        body={"username": CLIENT_ID,
                                              "password": CLIENT_SECRET})
        self.assertEqual(status, 404)
        self.assertIn(b"404 Not Found", body)
        self.assertTrue(headers["Content-Type"].startswith("text/html"))
        _, log = sim.ctl("GET", "requests")
        self.assertEqual((log[-1]["http_status"], log[-1]["errcode"]), (404, None))
        _, cfg = sim.ctl("POST", "config", {"api_enabled": True})
        self.assertTrue(cfg["api_enabled"])
        self.assertEqual(sim.login()[1]["errcode"], 0)
        self.assertEqual(sim.ctl("POST", "config", {"api_enabled": 1})[0], 400)

    def test_ip_allow_list(self):
        sim = self.start("--allowed-ips", "10.0.0.1,192.168.1.20")
        self.assertEqual(sim.login(), (200, {"errcode": 70087,
                                             "errmsg": "IP NOT ALLOWED"}))
        self.assertEqual(sim.api("GET", "extension/list", "x")[1]["errcode"], 70087)
        self.assertEqual(sim.ctl("GET", "stats")[1]["ip_refusals"], 2)
        _, cfg = sim.ctl("GET", "config")
        self.assertEqual(cfg["allowed_ips"], ["10.0.0.1", "192.168.1.20"])
        sim.ctl("POST", "config", {"allowed_ips": ["127.0.0.1"]})
        self.assertEqual(sim.login()[1]["errcode"], 0)
        sim.ctl("POST", "config", {"allowed_ips": []})
        self.assertEqual(sim.login()[1]["errcode"], 0)
        for bad in ("127.0.0.1", [1], ["10.0.0.1"] * 17, [""]):
            self.assertEqual(sim.ctl("POST", "config", {"allowed_ips": bad})[0], 400)

    def test_expire_access_tokens_only(self):
        sim = self.start()
        _, pair = sim.login()
        self.assertEqual(sim.ctl("POST", "expire_tokens", {"access_only": True})[0], 200)
        self.assertEqual(sim.api("GET", "extension/list", pair["access_token"])[1],
                         {"errcode": 10004, "errmsg": "TOKEN EXPIRED"})
        _, j = sim.api("POST", "refresh_token",
                       body={"refresh_token": pair["refresh_token"]})
        self.assertEqual(j["errcode"], 0, j)
        self.assertEqual(sim.api("GET", "extension/list", j["access_token"])[1]["errcode"], 0)
        self.assertEqual(sim.ctl("POST", "expire_tokens", {"access_only": "yes"})[0], 400)

    def test_del_token_counted(self):
        sim = self.start()
        tok = sim.token()
        sim.api("GET", "del_token", tok)
        sim.api("GET", "del_token", tok)
        _, stats = sim.ctl("GET", "stats")
        self.assertEqual((stats["token_deletes"], stats["live_tokens"]), (1, 0))

    def test_page_size_limit_changed_live(self):
        sim = self.start("--extensions", "12")
        tok = sim.token()
        _, cfg = sim.ctl("POST", "config", {"max_page_size": 5})
        self.assertEqual(cfg["max_page_size"], 5)
        self.assertParamError(sim.api("GET", "extension/list", tok,
                                      query={"page_size": 6}), "page_size")
        _, j = sim.api("GET", "extension/list", tok, query={"page_size": 5, "page": 3})
        self.assertEqual((j["total_number"], len(j["data"])), (12, 2))
        self.assertEqual(sim.ctl("POST", "config", {"max_page_size": 0})[0], 400)

    def test_latency_on_one_endpoint(self):
        sim = self.start()
        _, cfg = sim.ctl("POST", "config", {"latency_ms": 300,
                                            "latency_only": "get_token"})
        self.assertEqual(cfg["latency_only"], "get_token")
        began = time.monotonic()
        tok = sim.token()
        self.assertGreaterEqual(time.monotonic() - began, 0.3)
        self.assertEqual(sim.api("GET", "extension/list", tok)[1]["errcode"], 0)
        self.assertEqual(sim.ctl("POST", "config", {"latency_only": 3})[0], 400)

    def test_in_flight_is_never_overcounted(self):
        # One client, each request sent the moment the previous answer was
        # read: the server must never see two at once.
        sim = self.start()
        tok = sim.token()
        for _ in range(30):
            sim.api("GET", "extension/list", tok, query={"page_size": 1})
        _, stats = sim.ctl("GET", "stats")
        self.assertEqual(stats["max_in_flight"], 1)
        self.assertEqual(stats["in_flight"], 0)


class TestTls(SimTestCase):
    def test_https(self):
        import ssl
        import urllib.request
        tmp = tempfile.TemporaryDirectory(prefix="pbsim-tls-")
        self.addCleanup(tmp.cleanup)
        cert, key = os.path.join(tmp.name, "c.pem"), os.path.join(tmp.name, "k.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", key, "-out", cert, "-days", "2", "-subj",
                        "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True)
        sim = self.start("--tls-cert", cert, "--tls-key", key)
        url = f"https://127.0.0.1:{sim.port}{API}get_token"
        body = json.dumps({"username": CLIENT_ID, "password": CLIENT_SECRET}).encode()

        def post(ctx):
            req = urllib.request.Request(url, data=body, headers={"User-Agent": UA})
            with urllib.request.urlopen(req, context=ctx, timeout=10) as r:
                return json.loads(r.read())

        self.assertEqual(post(ssl.create_default_context(cafile=cert))["errcode"], 0)
        with self.assertRaises(urllib.error.URLError):
            post(ssl.create_default_context())  # self-signed: not trusted
        with self.assertRaises((http.client.HTTPException, OSError)):
            sim.login()  # plain HTTP on the HTTPS port


if __name__ == "__main__":
    if not os.access(SIM_BIN, os.X_OK):
        raise SystemExit("pbx-simulator binary not found at " + SIM_BIN +
                         " (set PB_SIM_BIN)")
    unittest.main(verbosity=2)

"""yeastar-gateway's Open API token lifecycle against a real mosquitto and
the PBX simulator (which counts logins, refreshes, revocations and live
tokens): one login reused across restarts (clean stop and kill -9), refresh
before expiry with a short lifetime, recovery from an expired-token error
with one retry, never more than PBX_MAX_TOKENS live tokens when login
answers are lost, and del_token on a clean stop only when configured."""
import time
import unittest

from gateway_case import GatewayCase, desired

SECRET = "demo-secret-0123456789abcdef0123"


def api(requests, endpoint):
    return [r for r in requests if r["path"] == "/openapi/v1.0/" + endpoint]


class Tokens(GatewayCase):
    area = "70"

    def make(self, sim_args=(), env=None):
        return super().make(5, sim_args, env)

    def tearDown(self):
        super().tearDown()
        log = "".join(p.log() for p in self.stack.procs.values())
        self.assertNotIn(SECRET, log)

    def start_gateway(self):
        return super().start_gateway(5)

    def test_token_reused_across_restarts(self):
        s = self.make()
        self.start_gateway()
        self.assertEqual(s.sim_get("/sim/stats")["logins"], 1)
        s.procs["yeastar-gateway"].stop()
        self.start_gateway()
        s.procs["yeastar-gateway"].kill9()
        self.start_gateway()
        stats = s.sim_get("/sim/stats")
        self.assertEqual(stats["logins"], 1, "a restart burned a new login")
        self.assertEqual(stats["token_deletes"], 0)
        self.assertEqual(stats["live_tokens"], 1)
        self.assertIn("reusing the stored PBX token", s.procs["yeastar-gateway"].log())
        # The stored token works: an apply goes through with it.
        s.bus.publish("ext/main/2001/desired", desired("away"), retain=True)
        s.wait_sim_update(2, "away")
        for r in s.sim_get("/sim/requests"):
            self.assertTrue(r["user_agent"].startswith("PresenceBus/"), r)

    def test_refresh_before_expiry(self):
        s = self.make(["--token-lifetime", "10"])
        self.start_gateway()
        deadline = time.time() + 40
        while s.sim_get("/sim/stats")["refreshes"] < 2 and time.time() < deadline:
            time.sleep(0.5)
        stats = s.sim_get("/sim/stats")
        self.assertGreaterEqual(stats["refreshes"], 2)
        self.assertEqual(stats["logins"], 1, "it logged in again instead of refreshing")
        self.assertLessEqual(stats["live_tokens"], 1)
        reqs = s.sim_get("/sim/requests")
        self.assertEqual([r for r in reqs if r["errcode"] in (10002, 10004)], [],
                         "a request went out with an expired or replaced token")
        s.bus.publish("ext/main/2003/desired", desired("lunch"), retain=True)
        s.wait_sim_update(4, "lunch")

    def test_expired_token_error_is_retried_once(self):
        s = self.make()
        self.start_gateway()
        # Access tokens expire on the PBX (before the gateway's own clock
        # says so): the next update meets errcode 10004.
        s.sim_post("/sim/expire_tokens", {"access_only": True})
        since = time.time()
        s.bus.publish("ext/main/2002/desired", desired("do_not_disturb"), retain=True)
        s.wait_sim_update(3, "do_not_disturb")
        ev = s.bus.wait("events/apply", lambda p: p["ext"] == "2002", since=since)
        self.assertEqual(ev["result"], "ok")
        reqs = s.sim_get("/sim/requests")
        updates = api(reqs, "extension/update")
        self.assertEqual([u["errcode"] for u in updates], [10004, 0])
        refresh = api(reqs, "refresh_token")
        self.assertEqual([r["errcode"] for r in refresh], [0])
        self.assertTrue(updates[0]["seq"] < refresh[0]["seq"] < updates[1]["seq"])
        self.assertEqual(s.sim_get("/sim/stats")["logins"], 1)
        self.assertIsNone(s.bus.last("events/apply_failed"))
        # Both tokens expired: the refresh is refused too, so it logs in.
        s.sim_post("/sim/expire_tokens", {})
        s.bus.publish("ext/main/2002/desired", desired("available"), retain=True)
        s.wait_sim_update(3, "available")
        stats = s.sim_get("/sim/stats")
        self.assertEqual(stats["logins"], 2)
        self.assertEqual(stats["live_tokens"], 1)

    def test_never_more_live_tokens_than_allowed(self):
        # get_token answers arrive after the gateway gave up waiting (the
        # PBX still creates the token): each lost answer counts as a live
        # token, and at PBX_MAX_TOKENS the gateway stops logging in.
        s = self.make(env={"PBX_MAX_TOKENS": "2", "PBX_TIMEOUT_SECONDS": "1"})
        s.sim_post("/sim/config", {"latency_ms": 1600, "latency_only": "get_token"})
        since = time.time()
        s.start("yeastar-gateway")
        st = s.bus.wait("site/main/status", lambda p: p["state"] == "token_limit",
                        since=since, timeout=30)
        self.assertIn("PBX_MAX_TOKENS=2", st["error"])
        ev = s.bus.wait("events/pbx_error", lambda p: p["state"] == "token_limit",
                        since=since)
        self.assertEqual(ev["site"], "main")
        time.sleep(2.5)  # let the late answers be processed by the PBX
        stats = s.sim_get("/sim/stats")
        self.assertEqual(stats["logins"], 2)
        self.assertLessEqual(stats["live_tokens"], 2)
        logins = api(s.sim_get("/sim/requests"), "get_token")
        self.assertEqual(len(logins), 2, "it kept logging in past the limit")
        # A restart remembers the tokens that may be live.
        s.procs["yeastar-gateway"].stop()
        since = time.time()
        s.start("yeastar-gateway")
        s.bus.wait("site/main/status", lambda p: p["state"] == "token_limit",
                   since=since, timeout=30)
        self.assertEqual(len(api(s.sim_get("/sim/requests"), "get_token")), 2)

    def test_del_token_only_on_clean_stop_when_configured(self):
        s = self.make(env={"PBX_DEL_TOKEN_ON_EXIT": "true"})
        self.start_gateway()
        # kill -9 is not a clean stop: the token stays and is reused.
        s.procs["yeastar-gateway"].kill9()
        self.start_gateway()
        self.assertEqual(s.sim_get("/sim/stats")["logins"], 1)
        self.assertEqual(s.procs["yeastar-gateway"].stop(), 0)
        stats = s.sim_get("/sim/stats")
        self.assertEqual(stats["token_deletes"], 1)
        self.assertEqual(stats["live_tokens"], 0)
        self.assertIn("token revoked (del_token)", s.procs["yeastar-gateway"].log())
        # Nothing left to reuse: the next start logs in.
        self.start_gateway()
        self.assertEqual(s.sim_get("/sim/stats")["logins"], 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""PBX webhooks, POST /api/pbx/webhook/<site>: X-Signature is the Base64
HMAC-SHA256 of the raw body with the site's secret (PBX_WEBHOOK_SECRETS).
A known-good body is relayed unchanged on R/site/<site>/pbx_event; a
tampered body, a wrong or missing signature is a 401 and nothing reaches
the bus."""
import base64
import hashlib
import hmac
import json
import time
import unittest

from harness import Stack
from web_client import ADMIN_PASSWORD, Web, admin_token

SECRET = "0123456789abcdef0123456789abcdef"
GOOD = (b'{"type":30009,"sn":"3631A2124XXX",'
        b'"msg":"{\\"extension\\":\\"2005\\",\\"status\\":\\"business_trip\\"}"}')


def sign(body, secret=SECRET):
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


class WebHook(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack("83_web_webhook", sim=False,
                          env={"WEB_ADMIN_PASSWORD": ADMIN_PASSWORD,
                               "PBX_WEBHOOK_SECRETS": f"main={SECRET};lab=other-secret-value"}
                          ).start("web-api")
        cls.anon = Web(cls.stack.web_port)

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.stop()
        assert cls.stack.sanitizer_reports() == [], cls.stack.sanitizer_reports()
        assert all(c == 0 for c in codes.values()), codes
        log = cls.stack.procs["web-api"].log()
        assert SECRET not in log and "other-secret-value" not in log

    def post(self, site, body, signature):
        headers = {"X-Signature": signature} if signature is not None else {}
        return self.anon.post(f"/api/pbx/webhook/{site}", body, headers=headers,
                              content_type="application/json")

    def relayed(self, site):
        return [m for m in self.stack.bus.messages if m[1] == f"site/{site}/pbx_event"]

    def test_known_good_body_is_relayed_unchanged(self):
        since = time.time()
        status, body, _ = self.post("main", GOOD, sign(GOOD))
        self.assertEqual(status, 200, body)
        self.assertEqual(body, {"status": "ok", "type": 30009})
        payload = self.stack.bus.wait("site/main/pbx_event", since=since)
        self.assertEqual(json.dumps(payload, separators=(",", ":")).encode(), GOOD)
        self.assertEqual(self.stack.bus.last("site/main/pbx_event").encode(), GOOD)
        # An object msg is accepted as well (the PBX sends both forms).
        obj = b'{"type":30012,"sn":"X","msg":{"call_id":"1","status":"ANSWERED"}}'
        self.assertEqual(self.post("main", obj, sign(obj))[0], 200)

    def test_tampered_and_unsigned_bodies_are_refused(self):
        before = len(self.relayed("main"))
        tampered = GOOD.replace(b"business_trip", b"available")
        cases = [(tampered, sign(GOOD), 401, "bad X-Signature"),
                 (GOOD, sign(GOOD, "wrong-secret"), 401, "bad X-Signature"),
                 (GOOD, "", 401, "missing X-Signature"),
                 (GOOD, None, 401, "missing X-Signature"),
                 (GOOD + b" ", sign(GOOD), 401, "bad X-Signature")]
        for body, sig, code, text in cases:
            status, answer, _ = self.post("main", body, sig)
            self.assertEqual(status, code, answer)
            self.assertIn(text, answer["error"])
        # Signed but not an event: refused without reaching the bus.
        for body, text in ((b"{oops", "invalid JSON"), (b'{"type":"x","msg":"{}"}', "P-Series"),
                           (b"[1,2]", "P-Series"), (b'{"type":1,"msg":"\xff"}', "UTF-8")):
            status, answer, _ = self.post("main", body, sign(body))
            self.assertEqual(status, 400, answer)
            self.assertIn(text, answer["error"])
        time.sleep(0.3)
        self.assertEqual(len(self.relayed("main")), before)

    def test_sites(self):
        status, answer, _ = self.post("lab", GOOD, sign(GOOD))
        self.assertEqual(status, 401)  # lab has its own secret
        self.assertEqual(self.post("lab", GOOD, sign(GOOD, "other-secret-value"))[0], 200)
        status, answer, _ = self.post("nowhere", GOOD, sign(GOOD))
        self.assertEqual(status, 404)
        self.assertIn("PBX_WEBHOOK_SECRETS", answer["error"])
        status, answer, _ = self.post("bad.site", GOOD, sign(GOOD))
        self.assertEqual(status, 400)
        status, answer, headers = self.anon.get("/api/pbx/webhook/main")
        self.assertEqual(status, 405)
        self.assertEqual(headers["Allow"], "POST")

    def test_metrics_count_webhooks(self):
        self.post("main", GOOD, sign(GOOD))
        self.post("main", GOOD, "forged")
        web = Web(self.stack.web_port, token=admin_token(self.stack.web_port, "m"))
        text = web.get("/metrics")[1]
        self.assertRegex(text, r"presencebus_webhooks_accepted_total [1-9]")
        self.assertRegex(text, r"presencebus_webhooks_refused_total [1-9]")


if __name__ == "__main__":
    unittest.main(verbosity=2)

"""web-api's REST routes against the running stack, with the client
mistakes answered by the right 4xx and a JSON error naming the problem."""
import socket
import time
import unittest

from harness import Stack


class WebApi(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack("40_web_api", sim_args=["--extensions", "3"]).start()
        cls.stack.bus.wait("site/main/directory", lambda p: len(p["extensions"]) == 3)
        deadline = time.time() + 10
        while time.time() < deadline:
            status, body, _ = cls.stack.http("GET", "/api/extensions")
            if body["count"] == 3 and all(e["pbx"]["status"] for e in body["extensions"]):
                break
            time.sleep(0.1)

    @classmethod
    def tearDownClass(cls):
        codes = cls.stack.stop()
        assert cls.stack.sanitizer_reports() == [], cls.stack.sanitizer_reports()
        assert all(c == 0 for c in codes.values()), codes

    def test_healthz(self):
        status, body, headers = self.stack.http("GET", "/healthz")
        self.assertEqual(status, 200)
        self.assertEqual(body["status"], "ok")
        self.assertTrue(body["bus_connected"])
        self.assertEqual(body["services"]["scheduler"], "online")
        self.assertIn("application/json", headers["Content-Type"])

    def test_list_and_one(self):
        status, body, _ = self.stack.http("GET", "/api/extensions")
        self.assertEqual(status, 200)
        self.assertEqual(body["count"], 3)
        first = body["extensions"][0]
        self.assertEqual(first["number"], "2000")
        self.assertEqual(first["site"], "main")
        self.assertEqual(first["pbx_id"], 1)
        self.assertTrue(first["in_directory"])
        self.assertEqual(first["desired"]["status"], "available")
        self.assertEqual(first["desired"]["cause"], "default")
        self.assertEqual(first["pbx"]["status"], "available")
        self.assertIsNone(first["override"])
        status, body, _ = self.stack.http("GET", "/api/extensions?site=main")
        self.assertEqual(body["count"], 3)
        status, body, _ = self.stack.http("GET", "/api/extensions?site=other")
        self.assertEqual(body["count"], 0)
        status, one, _ = self.stack.http("GET", "/api/extensions/2001")
        self.assertEqual(status, 200)
        self.assertEqual(one["number"], "2001")
        self.assertEqual(one["name"], first["name"] and one["name"])

    def test_client_mistakes(self):
        http = self.stack.http
        status, body, _ = http("GET", "/api/extensions/9999")
        self.assertEqual(status, 404)
        self.assertEqual(body["status"], 404)
        self.assertIn("unknown extension '9999'", body["error"])
        status, body, _ = http("GET", "/api/extensions/a.b")
        self.assertEqual(status, 400)
        status, body, _ = http("GET", "/api/extensions?site=bad.site")
        self.assertEqual(status, 400)
        self.assertIn("'site'", body["error"])
        status, body, _ = http("GET", "/api/nothing")
        self.assertEqual(status, 404)
        status, body, headers = http("DELETE", "/api/extensions")
        self.assertEqual(status, 405)
        self.assertEqual(headers["Allow"], "GET")
        status, body, _ = http("GET", "/../../etc/passwd")
        self.assertEqual(status, 404)
        status, body, _ = http("POST", "/api/extensions", b"x" * (2 * 1024 * 1024))
        self.assertEqual(status, 413)
        self.assertIn("larger than", body["error"])
        status, body, _ = http("GET", "/" + "a/" * 20)
        self.assertEqual(status, 404)

    def test_garbage_request_does_not_hurt(self):
        with socket.create_connection(("127.0.0.1", self.stack.web_port)) as s:
            s.sendall(b"\x00\xffNOT HTTP\r\n\r\n")
            s.settimeout(5)
            try:
                s.recv(1024)
            except OSError:
                pass
        status, _, _ = self.stack.http("GET", "/healthz")
        self.assertEqual(status, 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)

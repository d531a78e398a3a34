"""What the yeastar-gateway tests (70-74) share: a stack named after the
test with the simulator's demo extensions, a tear-down that checks exit
codes and sanitizer reports, starting the gateway until its directory is
read, what the PBX shows, and a `desired` payload."""
import json
import time
import unittest

from harness import Stack, rfc3339


def desired(status, since=None, cause="override", next_change=None):
    return json.dumps({"status": status, "cause": cause,
                       "since": since or rfc3339(time.time()), "next_change": next_change,
                       "slot": None, "override": None})


class GatewayCase(unittest.TestCase):
    area = "7x"  # the test file's number, in the stack's (and logs') name

    def make(self, n=10, sim_args=(), env=None):
        # The PBX's WebSocket feed is tested by test_75: off here, so its
        # connections do not count among the requests these tests count.
        env = {"PBX_EVENT_FEED": "off", **(env or {})}
        self.stack = Stack(f"{self.area}_gateway_{self._testMethodName}",
                           sim_args=["--extensions", str(n), *sim_args], env=env)
        return self.stack

    def tearDown(self):
        codes = self.stack.stop()
        self.assertEqual(self.stack.sanitizer_reports(), [])
        for name, code in codes.items():
            self.assertIn(code, (0, -9), f"{name} exited with {code}")

    def start_gateway(self, n=10):
        """Starts yeastar-gateway and waits for its directory of n extensions."""
        s = self.stack
        since = time.time()
        s.start("yeastar-gateway")
        s.bus.wait("site/main/directory", lambda p: len(p["extensions"]) == n,
                   since=since)
        return since

    def presence(self):
        """Each extension number's status as the PBX shows it."""
        return {e["number"]: e["presence_status"] for e in self.stack.sim_get("/sim/extensions")}

"""run_browser_test.py NAME: starts the whole stack (mosquitto, the PBX
simulator with three demo extensions, the five services) and runs the
headless-Chromium test NAME.test.mjs against it: `dashboard` (the
dashboard) or `calls` (the Calls board and the call log, driving calls
through the simulator's control API, PB_SIM_URL). Screenshots and service
logs are kept in <build>/test-artifacts/browser_NAME/."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "integration"))
from harness import Stack  # noqa: E402
from web_client import ADMIN_PASSWORD, Web  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    name = sys.argv[1] if len(sys.argv) == 2 else ""
    if not os.path.isfile(os.path.join(HERE, f"{name}.test.mjs")):
        print("usage: run_browser_test.py NAME (NAME.test.mjs in tests/browser)")
        return 2
    if not os.path.isdir(os.path.join(HERE, "node_modules", "playwright-core")):
        print("tests/browser/node_modules is missing: run 'npm ci' in tests/browser "
              "(scripts/test does)")
        print("0 passed, 1 failed")
        return 1
    stack = Stack(f"browser_{name}", sim_args=["--extensions", "3"],
                  env={"WEB_ADMIN_PASSWORD": ADMIN_PASSWORD})
    rc = 1
    try:
        stack.start()
        web = Web(stack.web_port)
        web.login()
        deadline = time.time() + 20
        while time.time() < deadline:
            _, body, _ = web.get("/api/extensions")
            if body["count"] == 3 and all(e["pbx"]["status"] for e in body["extensions"]):
                break
            time.sleep(0.1)
        env = dict(os.environ, PB_WEB_URL=f"http://127.0.0.1:{stack.web_port}",
                   PB_ADMIN_PASSWORD=ADMIN_PASSWORD, PB_ARTIFACTS=stack.logdir,
                   PB_SIM_URL=f"http://127.0.0.1:{stack.sim_port}")
        rc = subprocess.run(["node", os.path.join(HERE, f"{name}.test.mjs")], env=env,
                            cwd=HERE, timeout=240).returncode
    finally:
        codes = stack.stop()
        reports = stack.sanitizer_reports()
        if reports or any(c != 0 for c in codes.values()):
            print("services:", codes, reports)
            rc = rc or 1
    print("screenshots and logs in", stack.logdir)
    return rc


if __name__ == "__main__":
    sys.exit(main())

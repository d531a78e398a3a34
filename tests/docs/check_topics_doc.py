"""Every payload example in docs/topics.md is decoded by the project's own
decoder for its kind (tests/unit/decode_payload.c); every kind of payload
has at least one example."""
import os
import re
import subprocess
import sys

BUILD = os.environ["PB_BUILD_DIR"]
SOURCE = os.environ["PB_SOURCE_DIR"]
DECODER = os.path.join(BUILD, "tests/decode_payload")
REQUIRED = {"schedule", "desired", "override", "override_set", "state", "directory",
            "event", "request", "response"}

with open(os.path.join(SOURCE, "docs/topics.md"), encoding="utf-8") as f:
    doc = f.read()
blocks = re.findall(r"^```(?:json|text) payload=(\w+)\n(.*?)^```", doc, re.M | re.S)
passed, failed, seen = 0, 0, set()
for kind, body in blocks:
    seen.add(kind)
    payload = body[:-1] if body.endswith("\n") else body
    r = subprocess.run([DECODER, kind], input=payload.encode(), capture_output=True)
    if r.returncode == 0:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {kind}: {r.stderr.decode().strip()}\n{payload}\n")
missing = REQUIRED - seen
if missing:
    failed += 1
    print(f"FAIL: no example for {sorted(missing)}")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)

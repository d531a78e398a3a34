"""Every service binary is built hardened (docs/security.md): full RELRO (GNU_RELRO
segment + BIND_NOW), the stack protector, and glibc's FORTIFY checks in
optimised builds without sanitizers (CMakeLists.txt)."""
import os
import re
import subprocess
import sys

BUILD = os.environ["PB_BUILD_DIR"]
BINARIES = ["services/ical-ingest/ical-ingest", "services/scheduler/scheduler",
            "services/yeastar-gateway/yeastar-gateway", "services/web-api/web-api",
            "services/call-log/call-log",
            "tools/pbx-simulator/pbx-simulator"]


def cache(name):
    with open(os.path.join(BUILD, "CMakeCache.txt"), encoding="utf-8") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split("=", 1)[1].strip()
    return ""


fortify = cache("PB_SANITIZE") not in ("ON", "TRUE", "1") and cache("CMAKE_BUILD_TYPE") != "Debug"
failed = 0
for rel in BINARIES:
    path = os.path.join(BUILD, rel)
    out = {flag: subprocess.run(["readelf", flag, "-W", path], capture_output=True,
                                text=True, check=True).stdout
           for flag in ("-l", "-d", "--dyn-syms")}
    problems = []
    if "GNU_RELRO" not in out["-l"]:
        problems.append("no GNU_RELRO segment")
    if not re.search(r"\(FLAGS\).*BIND_NOW|\(FLAGS_1\).*NOW", out["-d"]):
        problems.append("not linked with -z now")
    if "__stack_chk_fail" not in out["--dyn-syms"]:
        problems.append("no stack protector")
    if fortify and not re.search(r"__\w+_chk\b", out["--dyn-syms"].replace("__stack_chk_fail", "")):
        problems.append("no FORTIFY_SOURCE checks")
    print(f"{rel}: {'; '.join(problems) or 'hardened'}")
    failed += bool(problems)
print(f"{len(BINARIES) - failed} passed, {failed} failed")
sys.exit(1 if failed else 0)

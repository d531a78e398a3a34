#!/usr/bin/python3
"""A short, bounded libFuzzer run: builds the fuzz targets
with clang in a build directory of their own (-DPB_FUZZ=ON, ASan+UBSan),
then runs each for PB_FUZZ_SECONDS (default 30) with the fixtures and the
regression inputs as seeds. A crash fails the test and leaves its input in
<build>/fuzz-clang/findings/: add it to the target's regressions folder
(services/ical-ingest/calendar/fuzz/regressions for fuzz_calendar,
tests/fuzz/regressions/planning for fuzz_planning)."""
import os
import shutil
import subprocess
import sys
import tempfile

SOURCE = os.environ["PB_SOURCE_DIR"]
BUILD = os.path.join(os.environ["PB_BUILD_DIR"], "fuzz-clang")
CLANG = os.environ.get("PB_CLANG", "clang")
SECONDS = int(os.environ.get("PB_FUZZ_SECONDS", "30"))
FUZZ = os.path.join(SOURCE, "tests", "fuzz")
CALENDAR = os.path.join(SOURCE, "services", "ical-ingest", "calendar")
TARGETS = {
    "fuzz_calendar": [os.path.join(CALENDAR, "fuzz", "regressions"),
                      os.path.join(CALENDAR, "tests", "fixtures")],
    "fuzz_planning": [os.path.join(FUZZ, "regressions", "planning"),
                      os.path.join(FUZZ, "seeds", "planning")],
}


def run(cmd, **kw):
    print("+", " ".join(cmd), flush=True)
    return subprocess.run(cmd, **kw)


def main():
    if run(["cmake", "-S", SOURCE, "-B", BUILD, "-DCMAKE_C_COMPILER=" + CLANG,
            "-DPB_FUZZ=ON", "-DPB_SANITIZE=ON", "-DPB_WERROR=OFF",
            "-DCMAKE_BUILD_TYPE=RelWithDebInfo"], stdout=subprocess.DEVNULL).returncode:
        print("cannot configure the clang build")
        return 1
    if run(["cmake", "--build", BUILD, "-j2", "--target", *TARGETS]).returncode:
        print("cannot build the fuzz targets")
        return 1
    findings = os.path.join(BUILD, "findings")
    os.makedirs(findings, exist_ok=True)
    failed = 0
    for target, seeds in TARGETS.items():
        work = tempfile.mkdtemp(prefix=target + "-")
        try:
            env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=1",
                       UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
            log = os.path.join(findings, target + ".log")
            with open(log, "w") as out:
                p = run([os.path.join(BUILD, "tests", "fuzz", target),
                         f"-max_total_time={SECONDS}", "-timeout=10", "-rss_limit_mb=2048",
                         "-max_len=262144", "-print_final_stats=1",
                         "-artifact_prefix=" + findings + "/" + target + "-", work, *seeds],
                        env=env, timeout=SECONDS * 4 + 300, stdout=out,
                        stderr=subprocess.STDOUT)
            with open(log, errors="replace") as f:
                tail = f.read().splitlines()[-40 if p.returncode else -8:]
            print("\n".join(tail))
            if p.returncode:
                failed += 1
                print(f"FAIL {target}: libFuzzer found a problem; its input is in {findings}")
            else:
                print(f"ok {target}")
        finally:
            shutil.rmtree(work, ignore_errors=True)
    print(f"{len(TARGETS) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/python3
"""Regenerates the reference outputs of the calendar fixtures
(services/ical-ingest/calendar/tests/fixtures) with the Python
reference implementation (an ical-oracle script over Debian's
python3-recurring-ical-events, given with --oracle), and, with --pin NAME..., writes the
project's own answer for files where the two disagree (after review).

The window and zone are those of check_corpus.py. Not run by CI: the
reference outputs are checked in, so CI does not need the oracle.

usage: tests/corpus/make_reference.py [--oracle PATH] [--build DIR] [--pin NAME...]
"""
import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from check_corpus import FIXTURES, WINDOW, ZONE, run_project  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    src = os.path.dirname(os.path.dirname(HERE))
    ap.add_argument("--oracle", default=os.path.join(src, "..", "shared", "tools", "ical-oracle"))
    ap.add_argument("--build", default=os.path.join(src, "build"))
    ap.add_argument("--pin", nargs="*", default=[])
    a = ap.parse_args()
    if a.pin:
        binary = os.path.join(a.build, "services", "ical-ingest", "ical-ingest")
        for name in a.pin:
            rc, out, err = run_project(binary, name, all_events=True)
            if rc != 0:
                sys.exit(f"{name}: ical-ingest failed: {err}")
            with open(os.path.join(FIXTURES, "expected", name + ".txt"), "w") as f:
                f.write(out)
            print(f"pinned {name}")
        return
    for f in sorted(os.listdir(FIXTURES)):
        if not f.endswith(".ics"):
            continue
        name = f[:-4]
        p = subprocess.run(["/usr/bin/python3", a.oracle, os.path.join(FIXTURES, f),
                            WINDOW[0], WINDOW[1], "--tz", ZONE],
                           capture_output=True, text=True, timeout=600)
        ref = os.path.join(FIXTURES, "reference", name)
        for stale in (ref + ".txt", ref + ".error"):
            if os.path.exists(stale):
                os.remove(stale)
        if p.returncode == 0:
            with open(ref + ".txt", "w") as o:
                o.write(p.stdout)
        else:
            last = (p.stderr.strip().splitlines() or ["(no message)"])[-1]
            with open(ref + ".error", "w") as o:
                o.write(last + "\n")
        print(f"{name}: {'ok' if p.returncode == 0 else 'reference fails'}")


if __name__ == "__main__":
    main()

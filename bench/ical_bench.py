#!/usr/bin/python3
"""Calendar reading benchmark (speed and memory), every program
measured in the same run on the same machine:

  1. google-export-4778-events.ics (1.6 MB, 4,778 events), the year 2011:
     `ical-ingest --expand` against ical-oracle (the Python reference over
     python3-recurring-ical-events) and against bench/ical_libical_baseline.c
     (a plain libical parse + icalcomponent_foreach_recurrence);
  2. a generated 20 MB corporate export (bench/gen_big_feed.py: 20,000
     events, many ATTENDEE and DESCRIPTION lines), the year 2025.

Wall time is the median of --runs runs of the whole process; peak RSS is
the kernel's ru_maxrss of the process (os.wait4). Results go to
docs/benchmarks.md between <!-- bench:ical:begin --> and
<!-- bench:ical:end -->. Needs a release build (scripts/build.sh), cc,
pkg-config libical, and, for the oracle, python3-icalendar and
python3-recurring-ical-events (installed here if missing, with apt-get).

usage: bench/ical_bench.py [--build build] [--runs 7] [--no-write]
"""
import argparse
import datetime
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(HERE)
GOOGLE = os.path.join(SOURCE, "services", "ical-ingest", "calendar", "tests", "fixtures",
                      "google-export-4778-events.ics")
ORACLE = os.path.join(SOURCE, "..", "shared", "tools", "ical-oracle")
DOC = os.path.join(SOURCE, "docs", "benchmarks.md")
BEGIN, END = "<!-- bench:ical:begin -->", "<!-- bench:ical:end -->"

# The targets.
ORACLE_FACTOR, BASELINE_FACTOR, GOOGLE_RSS_MB = 25, 2, 16
BIG_SECONDS, BIG_RSS_MB = 1.0, 48


MEASURE = None   # the compiled bench/measure_rss.c


def measure(cmd, env=None):
    """Runs cmd once through measure_rss: (wall seconds, peak RSS in MiB,
    the first line of its output, its number of lines)."""
    with tempfile.NamedTemporaryFile(prefix="ical-bench-out-") as out:
        p = subprocess.run([MEASURE, out.name, *cmd], capture_output=True, text=True,
                           env=env, check=True)
        wall, rss_kb, code = p.stdout.split()
        if int(code) != 0:
            sys.exit(f"{' '.join(cmd)} failed (exit {code})")
        with open(out.name, encoding="utf-8", errors="replace") as f:
            first, count = "", 0
            for count, line in enumerate(f, 1):
                if count == 1:
                    first = line.strip()
    return float(wall), int(rss_kb) / 1024.0, first, count


def series(cmd, runs, env=None):
    results = [measure(cmd, env) for _ in range(runs)]
    walls = [r[0] for r in results]
    return {"median": statistics.median(walls), "min": min(walls),
            "rss": max(r[1] for r in results), "first": results[0][2],
            "lines": results[0][3], "runs": runs}


def ensure_oracle_deps():
    probe = subprocess.run(["/usr/bin/python3", "-c", "import icalendar, recurring_ical_events"],
                           capture_output=True)
    if probe.returncode == 0:
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends",
                        "python3-icalendar", "python3-recurring-ical-events"],
                       stdout=subprocess.DEVNULL)
        return subprocess.run(["/usr/bin/python3", "-c", "import recurring_ical_events"],
                              capture_output=True).returncode == 0
    return False


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(SOURCE, "build"))
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--no-write", action="store_true")
    a = ap.parse_args()
    ingest = os.path.join(a.build, "services", "ical-ingest", "ical-ingest")
    if not os.access(ingest, os.X_OK):
        sys.exit(f"{ingest} not found: build first (scripts/build.sh)")
    if not ensure_oracle_deps():
        sys.exit("the oracle needs python3-icalendar and python3-recurring-ical-events")
    work = tempfile.mkdtemp(prefix="ical-bench-")
    try:
        global MEASURE
        MEASURE = os.path.join(work, "measure_rss")
        subprocess.run(["cc", "-O2", "-o", MEASURE, os.path.join(HERE, "measure_rss.c")],
                       check=True)
        floor = series(["/bin/true"], 3)["rss"]
        baseline = os.path.join(work, "ical_libical_baseline")
        cflags = subprocess.run(["pkg-config", "--cflags", "--libs", "libical"],
                                capture_output=True, text=True, check=True).stdout.split()
        subprocess.run(["cc", "-O2", "-o", baseline,
                        os.path.join(HERE, "ical_libical_baseline.c"), *cflags], check=True)
        big = os.path.join(work, "corporate-20mb.ics")
        subprocess.run(["/usr/bin/python3", os.path.join(HERE, "gen_big_feed.py"), big], check=True)
        env = dict(os.environ, LOG_LEVEL="error")
        rows = []

        def expand(path, frm, to):
            return [ingest, "--expand", path, "--from", frm, "--to", to, "--tz", "Europe/Paris"]

        g_ing = series(expand(GOOGLE, "20110101", "20120101"), a.runs, env)
        g_ora = series(["/usr/bin/python3", ORACLE, GOOGLE, "20110101", "20120101",
                        "--tz", "Europe/Paris"], max(3, a.runs // 2))
        g_lib = series([baseline, GOOGLE, "20110101", "20120101"], a.runs)
        b_ing = series(expand(big, "20250101", "20260101"), a.runs, env)
        b_lib = series([baseline, big, "20250101", "20260101"], max(3, a.runs // 2))

        g_name = "google-export-4778-events.ics (1.6 MB), 2011"
        b_name = f"generated corporate export ({os.path.getsize(big) / 1048576:.1f} MB, 20,000 events), 2025"
        n = lambda s: s["lines"]
        rows.append((g_name, "`ical-ingest --expand`", g_ing, n(g_ing)))
        rows.append((g_name, "`ical-oracle` (python3-recurring-ical-events)", g_ora, n(g_ora)))
        rows.append((g_name, "libical parse + `icalcomponent_foreach_recurrence`", g_lib,
                     int(g_lib["first"])))
        rows.append((b_name, "`ical-ingest --expand`", b_ing, n(b_ing)))
        rows.append((b_name, "libical parse + `icalcomponent_foreach_recurrence`", b_lib,
                     int(b_lib["first"])))

        vs_oracle = g_ora["median"] / g_ing["median"]
        vs_libical = g_lib["median"] / g_ing["median"]
        checks = [
            (f"google 2011: at least {ORACLE_FACTOR}x faster than the oracle",
             f"{vs_oracle:.0f}x", vs_oracle >= ORACLE_FACTOR),
            (f"google 2011: at least {BASELINE_FACTOR}x faster than plain libical",
             f"{vs_libical:.1f}x", vs_libical >= BASELINE_FACTOR),
            (f"google 2011: peak RSS at most {GOOGLE_RSS_MB} MB",
             f"{g_ing['rss']:.1f} MB", g_ing["rss"] <= GOOGLE_RSS_MB),
            (f"20 MB feed: read and expanded in under {BIG_SECONDS:.0f} s",
             f"{b_ing['median']:.3f} s", b_ing["median"] < BIG_SECONDS),
            (f"20 MB feed: peak RSS under {BIG_RSS_MB} MB",
             f"{b_ing['rss']:.1f} MB", b_ing["rss"] < BIG_RSS_MB),
        ]
        lines = [BEGIN, "## Calendar reading (ical-ingest)", "",
                 f"`bench/ical_bench.py`, run on {datetime.date.today().isoformat()} on "
                 f"{cpu_name()} ({os.cpu_count()} cores, shared), release build "
                 f"(`{os.path.relpath(a.build, SOURCE)}`). Each program is a whole process "
                 f"(start-up included), started by `bench/measure_rss.c`; wall time is "
                 f"the median (and best) of the runs, peak RSS the largest ru_maxrss seen "
                 f"(`/bin/true` measures {floor:.1f} MB this way). Run it again with "
                 f"`bench/ical_bench.py --build build` after `scripts/build.sh`.", "",
                 "| input | program | median | best | runs | peak RSS | occurrences |",
                 "|---|---|---|---|---|---|---|"]
        for name, prog, s, count in rows:
            lines.append(f"| {name} | {prog} | {s['median']:.3f} s | {s['min']:.3f} s | "
                         f"{s['runs']} | {s['rss']:.1f} MB | {count} |")
        lines += ["", "| target | measured | |", "|---|---|---|"]
        for what, got, ok in checks:
            lines.append(f"| {what} | {got} | {'met' if ok else '**missed**'} |")
        lines += ["",
                  "The occurrence counts differ where the readers disagree: the oracle and "
                  "the project on the feed's own `Europe/lisbon` zone and on inclusive "
                  "`UNTIL`, libical because `icalcomponent_foreach_recurrence` also reports "
                  "moved instances at their old time, and neither skips transparent or "
                  "cancelled events as the schedule does (docs/calendars.md).", END]
        section = "\n".join(lines) + "\n"
        print(section)
        if not a.no_write:
            write_section(section)
        return 0 if all(ok for _, _, ok in checks) else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


def write_section(section):
    """Replaces this benchmark's section, read afresh: others write theirs."""
    text = ""
    if os.path.exists(DOC):
        with open(DOC, encoding="utf-8") as f:
            text = f.read()
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        tail = rest.split(END, 1)[1].lstrip("\n")
        text = head + section + ("\n" + tail if tail else "")
    else:
        text = (text.rstrip("\n") + "\n\n" if text else "# Benchmarks\n\n") + section
    with open(DOC, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    sys.exit(main())

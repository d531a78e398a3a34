#!/usr/bin/python3
"""The calendar reader against the reference, file by file.

Every calendar fixture (services/ical-ingest/calendar/tests/fixtures/*.ics,
kept with the calendar library) is read by `ical-ingest --expand --all` over
one wide window and compared byte for byte with what the Python reference
(python3-recurring-ical-events, see make_reference.py) printed, checked in
as reference/NAME.txt.
Where the project is right and the reference is wrong, DISAGREEMENTS names
the RFC 5545 section and the project's answer is pinned in expected/NAME.txt;
a pin the reference now agrees with is reported as stale. Files the
reference cannot read must give a sensible reading (pinned) or a clear
error (ERRORS), never a crash. docs/calendars.md explains each row.
"""
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.environ.get("PB_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
FIXTURES = os.path.join(SOURCE, "services", "ical-ingest", "calendar", "tests",
                        "fixtures")
# Noon UTC at both ends keeps all-day events clear of the edges; the
# reference's pytz knows no DST rule after 2037, hence the end.
WINDOW = ("19700101T120000Z", "20371231T120000Z")
ZONE = "Europe/Paris"

# name: (RFC 5545 section, why the project's answer differs)
DISAGREEMENTS = {
    "alarm_absolute_edited": ("3.8.7.4", "the event is written twice with one UID; the copy with the higher SEQUENCE is the current revision, the other is not shown"),
    "bad_rrule_missing_until_event": ("3.3.10", "'UNTL' is no rule part: the series is skipped with a warning naming it (the reference raises)"),
    "end_before_start_event": ("3.8.2.2", "DTEND before DTSTART is invalid; read from the end to the start with a warning (the reference raises)"),
    "google-export-4778-events": ("3.2.19, 3.3.10, 3.3.11", "TZID 'Europe/lisbon' is not an IANA name (they are case-sensitive) and the feed defines it by its own VTIMEZONE with CET rules, which the project follows; UNTIL includes the instance it names; TEXT '%3A' stays as written"),
    "issue_107_omitting_last_event": ("3.3.10", "UNTIL bounds the rule inclusively: the instance at exactly UNTIL is the last one"),
    "issue_113_period_in_rdate": ("3.8.5.2", "RDATE;VALUE=PERIOD adds an instance lasting that period (the reference raises)"),
    "issue_113_period_rdate_duration": ("3.3.9, 3.8.5.2", "a period given as start/duration is an instance of that length (the reference raises)"),
    "issue_128_only_first_event": ("3.3.10", "COUNT=-1 is not a positive integer: the series is skipped with a warning"),
    "issue_132_swapped_start_and_end": ("3.8.2.2", "DTEND before DTSTART is invalid; read from the end to the start with a warning (the reference raises)"),
    "issue_148_edge_case_1": ("3.8.7.4", "the later revision of the series (higher SEQUENCE) replaces the earlier one and, by its EXDATE, deletes the older replacement of that instance"),
    "issue_148_exdate_and_rdate_updated": ("3.8.7.4", "only the later revision (higher SEQUENCE) of the series counts: its EXDATE and RDATE, not the old ones"),
    "issue_148_ignored_exdate": ("3.8.7.4", "only the later revision (higher SEQUENCE) counts, so its EXDATE is honoured"),
    "issue_163_deleted_modification": ("3.8.7.4", "the later revision deletes (EXDATE) an instance an older replacement had moved: the replacement goes too"),
    "issue_201_mixed_datetime_and_date": ("3.8.2.2", "DTEND must have DTSTART's value type; DTSTART decides: the event stays all-day"),
    "issue_201_test_matrix": ("3.8.2.2", "DTSTART decides the value type: an all-day DTSTART with a date-time DTEND stays all-day (to the next day if it ends past midnight)"),
    "issue_28_rrule_with_UTC_endinginZ": ("3.3.10", "a UTC UNTIL on an all-day series names the local day it falls on (17 September in Europe/Paris, Exchange's last instance) and bounds inclusively"),
    "issue_75_range_parameter": ("3.8.4.4, 3.2.13", "RECURRENCE-ID;RANGE=THISANDFUTURE moves and resizes every later instance too; the reference ignores RANGE"),
    "multiple_rrule": ("3.8.5.3, 3.3.10", "two RRULEs are read as the union of both sets (RFC 2445 allowed several, libical does the same), DTSTART counting as the first instance of each; the reference raises"),
    "pb_bad_events": ("3.1", "a line that is no content line is skipped with a warning and the rest is read (the reference raises)"),
    "pb_dst_days": ("3.3.5", "a local time that happens twice (the fall-back hour) is its first occurrence; the reference takes the second"),
    "pb_rdate_exdate": ("3.8.5.1", "an EXDATE;VALUE=DATE on a timed series removes that local day's instance, as libical does; the reference ignores it"),
    "pb_rdate_period": ("3.8.5.2", "RDATE periods keep their own length (the reference raises)"),
    "pb_rrule_parts": ("3.3.10", "a DATE UNTIL bounds its whole day; DTSTART counts as the first instance for COUNT even when the rule does not produce it; BYDAY=20MO is the 20th Monday of the year (the reference drops that rule)"),
    "pb_rrule_from_dtstart": ("3.3.10", "what a rule leaves out comes from DTSTART: a yearly BYMONTHDAY without BYMONTH (how Google Calendar and Windows write yearly events) recurs in DTSTART's month, as libical reads it, and a yearly BYWEEKNO without BYDAY on DTSTART's weekday; the reference repeats the day in every month and takes every day of the week"),
    "pb_text_folding": ("3.1", "unfolding must restore a UTF-8 sequence cut by a fold; the reference decodes each piece alone"),
    "pb_windows_zones": ("3.3.10, 3.2.19", "UNTIL includes the instance it names; an Outlook display name as TZID ('(UTC-05:00) Eastern Time...') is its CLDR zone, the reference reads it as floating"),
}

# Inputs that must be refused whole, with this in the message.
ERRORS = {
    "pb_error_not_icalendar": "not an iCalendar stream: line 1",
    "pb_error_truncated": "ends inside VEVENT begun on line 3",
}

# Warnings that must be printed (substrings of stderr).
WARNINGS = {
    "bad_rrule_missing_until_event": ["'UNTL=20191023' is not a rule part"],
    "end_before_start_event": ["ends before it starts"],
    "issue_132_swapped_start_and_end": ["ends before it starts"],
    "issue_128_only_first_event": ["COUNT must be a positive integer"],
    "pb_bad_events": ["has no DTSTART", "'20250230T100000Z' is not a valid",
                      "FREQ=FORTNIGHTLY", "'2025-03-14'", "Mars/Olympus_Mons",
                      "END:VTOOD", "not a content line"],
}

# Also read without --all (what the schedule uses): cancelled and
# transparent events and instances hold no slot.
SCHEDULE_VIEW = ["pb_cancelled_transparent"]

# --status with a fixed rule list (not the built-in one, which may change):
# a tab, then the status each occurrence maps to.
STATUS_RULES = ('[{"match":"busystatus","value":"FREE","status":"ignore"},'
                '{"match":"summary","keyword":"cours","status":"business_trip"},'
                '{"match":"busystatus","value":"OOF","status":"away"}]')
STATUS_VIEW = ["pb_windows_zones"]

# The command line's own refusals: (arguments after the binary, exit
# status, words of the message).
USAGE = [
    (["--expand", "no-such-file.ics", "--from", "20250101", "--to", "20260101"],
     1, "No such file or directory"),
    (["--expand", "FIXTURE", "--from", "2025", "--to", "20260101"], 2, "--from and --to"),
    (["--expand", "FIXTURE", "--from", "20260101", "--to", "20250101"], 2, "not after --to"),
    (["--expand", "FIXTURE", "--from", "20250230", "--to", "20260101"], 2, "--from and --to"),
    (["--expand", "FIXTURE", "--from", "20250101", "--to", "20260101", "--tz", "Mars/Base"],
     2, "not a known IANA time zone"),
]


def run_project(binary, name, all_events, status=False):
    args = [binary, "--expand", os.path.join(FIXTURES, name + ".ics"),
            "--from", WINDOW[0], "--to", WINDOW[1], "--tz", ZONE]
    if all_events:
        args.append("--all")
    env = dict(os.environ, LOG_LEVEL="error")
    if status:
        args.append("--status")
        env.update(MAPPING_RULES=STATUS_RULES, MAPPING_DEFAULT_STATUS="do_not_disturb")
    p = subprocess.run(args, capture_output=True, text=True, timeout=120, env=env)
    return p.returncode, p.stdout, p.stderr


def read(path):
    with open(path, encoding="utf-8", errors="surrogateescape") as f:
        return f.read()


def first_difference(a, b):
    al, bl = a.splitlines(), b.splitlines()
    for i in range(max(len(al), len(bl))):
        x = al[i] if i < len(al) else "(nothing)"
        y = bl[i] if i < len(bl) else "(nothing)"
        if x != y:
            return f"line {i + 1}: got {x!r}, want {y!r}"
    return "same lines"


def main():
    build = os.environ.get("PB_BUILD_DIR", os.path.join(SOURCE, "build"))
    binary = os.path.join(build, "services", "ical-ingest", "ical-ingest")
    names = sorted(f[:-4] for f in os.listdir(FIXTURES) if f.endswith(".ics"))
    passed = failed = 0

    def fail(name, why):
        nonlocal failed
        failed += 1
        print(f"FAIL {name}: {why}")

    for table in (DISAGREEMENTS, ERRORS, WARNINGS):
        for name in table:
            if name not in names:
                fail(name, "listed in a table but has no fixture")

    for name in names:
        ref = os.path.join(FIXTURES, "reference", name)
        has_ref = os.path.exists(ref + ".txt")
        ref_fails = os.path.exists(ref + ".error")
        if not has_ref and not ref_fails:
            fail(name, "no reference output (run tests/corpus/make_reference.py)")
            continue
        try:
            rc, out, err = run_project(binary, name, all_events=True)
        except subprocess.TimeoutExpired:
            fail(name, "ical-ingest took more than 120 s")
            continue
        if rc < 0 or rc > 2 or "Sanitizer" in err or "runtime error" in err:
            fail(name, f"ical-ingest crashed (exit {rc}): {err[-400:]}")
            continue
        if name in ERRORS:
            if rc != 1 or out or ERRORS[name] not in err:
                fail(name, f"expected a refusal naming '{ERRORS[name]}', got exit {rc}: {err.strip()}")
            else:
                passed += 1
            continue
        if rc != 0:
            fail(name, f"exit {rc}: {err.strip()}")
            continue
        missing = [w for w in WARNINGS.get(name, []) if w not in err]
        if missing:
            fail(name, f"warnings missing: {missing}; stderr: {err.strip()}")
            continue
        if name in DISAGREEMENTS:
            section, why = DISAGREEMENTS[name]
            exp = os.path.join(FIXTURES, "expected", name + ".txt")
            if not os.path.exists(exp):
                fail(name, "pinned in DISAGREEMENTS but expected/%s.txt is missing" % name)
                continue
            want = read(exp)
            if out != want:
                fail(name, f"differs from the pinned answer (RFC 5545 §{section}): "
                     + first_difference(out, want))
                continue
            if has_ref and read(ref + ".txt") == want:
                fail(name, "the reference now agrees: remove the pin")
                continue
        elif ref_fails:
            fail(name, "the reference cannot read it: pin the project's reading in DISAGREEMENTS")
            continue
        else:
            want = read(ref + ".txt")
            if out != want:
                fail(name, "differs from the reference: " + first_difference(out, want))
                continue
        passed += 1

    for name in SCHEDULE_VIEW:
        rc, out, err = run_project(binary, name, all_events=False)
        want = read(os.path.join(FIXTURES, "expected", name + ".schedule.txt"))
        if rc != 0 or out != want:
            fail(name + " (schedule view)", f"exit {rc}: " + first_difference(out, want))
        else:
            passed += 1

    for name in STATUS_VIEW:
        rc, out, err = run_project(binary, name, all_events=False, status=True)
        want = read(os.path.join(FIXTURES, "expected", name + ".status.txt"))
        if rc != 0 or out != want:
            fail(name + " (--status)", f"exit {rc} {err.strip()}: " + first_difference(out, want))
        else:
            passed += 1

    fixture = os.path.join(FIXTURES, "one_event.ics")
    for args, code, words in USAGE:
        args = [fixture if a == "FIXTURE" else a for a in args]
        p = subprocess.run([binary, *args], capture_output=True, text=True, timeout=60)
        if p.returncode != code or words not in p.stderr or p.stdout:
            fail("usage " + " ".join(args[2:]), f"exit {p.returncode}: {p.stderr.strip()}")
        else:
            passed += 1

    print(f"{len(names)} calendars, {len(DISAGREEMENTS)} pinned disagreements")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

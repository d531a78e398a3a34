#!/usr/bin/python3
"""Writes a large corporate-style calendar export for the reading benchmark:
by default 20,000 VEVENTs in about 20 MB, as Exchange/Outlook exports them
(Windows TZID with its VTIMEZONE, folded lines, a dozen ATTENDEE lines and a
long DESCRIPTION per event, a VALARM), with weekly series, moved and
cancelled instances and EXDATEs among single meetings across 2024-2026.
Deterministic (fixed seed), so every run measures the same bytes.

usage: bench/gen_big_feed.py OUT.ics [--events 20000] [--target-mb 20]
"""
import argparse
import random

VTIMEZONE = """BEGIN:VTIMEZONE
TZID:W. Europe Standard Time
BEGIN:STANDARD
DTSTART:16010101T030000
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=10
END:STANDARD
BEGIN:DAYLIGHT
DTSTART:16010101T020000
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
RRULE:FREQ=YEARLY;INTERVAL=1;BYDAY=-1SU;BYMONTH=3
END:DAYLIGHT
END:VTIMEZONE"""

WORDS = ("budget review planning cours formation réunion client projet sprint "
         "roadmap comité direction équipe point hebdomadaire suivi livrable "
         "architecture sécurité recrutement entretien bilan trimestriel").split()


def fold(line):
    """RFC 5545 §3.1: lines of at most 75 octets, continued with a space."""
    data = line.encode("utf-8")
    out, start, first = [], 0, True
    while start < len(data):
        width = 75 if first else 74
        end = min(start + width, len(data))
        # Do not cut inside a UTF-8 sequence.
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1
        out.append((b"" if first else b" ") + data[start:end])
        start, first = end, False
    return b"\r\n".join(out)


def text(rng, n_words):
    return " ".join(rng.choice(WORDS) for _ in range(n_words))


def escape(s):
    return s.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def event(rng, i, target_bytes):
    day = rng.randrange(0, 3 * 365)
    y, doy = 2024 + day // 365, day % 365
    month, mday = 1 + doy // 31 % 12, 1 + doy % 28
    hour = rng.choice([8, 9, 10, 11, 13, 14, 15, 16])
    start = f"{y:04d}{month:02d}{mday:02d}T{hour:02d}{rng.choice(['00', '30'])}00"
    end_hour = hour + rng.choice([1, 1, 2])
    end = start[:9] + f"{end_hour:02d}" + start[11:]
    uid = f"{i:08d}-b3c1d9e2@example.com"
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"SUMMARY;LANGUAGE=fr-FR:{escape(text(rng, 4)).capitalize()}",
        f"DTSTART;TZID=W. Europe Standard Time:{start}",
        f"DTEND;TZID=W. Europe Standard Time:{end}",
        "DTSTAMP:20240101T000000Z",
        "TRANSP:OPAQUE",
        "STATUS:CONFIRMED",
        f"SEQUENCE:{rng.randrange(0, 3)}",
        f"LOCATION;LANGUAGE=fr-FR:Salle {rng.randrange(1, 40)}\\, bâtiment {rng.choice('ABCD')}",
        f"X-MICROSOFT-CDO-BUSYSTATUS:{rng.choice(['BUSY', 'BUSY', 'TENTATIVE', 'OOF', 'FREE'])}",
        f"ORGANIZER;CN=\"Organisateur {i % 97}\":mailto:organisateur{i % 97}@example.com",
    ]
    series = rng.random() < 0.25
    if series:
        lines.append(f"RRULE:FREQ=WEEKLY;COUNT={rng.randrange(5, 40)};BYDAY="
                     + ["MO", "TU", "WE", "TH", "FR"][rng.randrange(5)])
        if rng.random() < 0.5:
            lines.append(f"EXDATE;TZID=W. Europe Standard Time:{start}")
    for a in range(rng.randrange(2, 7)):
        lines.append(f"ATTENDEE;PARTSTAT=NEEDS-ACTION;RSVP=TRUE;CN=P{a}:mailto:p.{i}.{a}@example.com")
    # The DESCRIPTION fills the event up to its share of the target size.
    tail = ["BEGIN:VALARM", "ACTION:DISPLAY", "DESCRIPTION:REMINDER",
            "TRIGGER;RELATED=START:-PT15M", "END:VALARM", "END:VEVENT"]
    used = sum(len(fold(l)) + 2 for l in lines + tail)
    link = f"\nRejoindre la réunion: https://meet.example.com/{i}"
    desc = text(rng, 200)
    room = max(60, target_bytes - used - 40 - len(link))
    desc = escape(desc[:room] + link)
    lines.append(f"DESCRIPTION;LANGUAGE=fr-FR:{desc}")
    out = [fold(l) for l in lines + tail]
    if series and rng.random() < 0.3:
        # One instance moved an hour later, as Outlook writes it.
        moved = start[:9] + f"{hour + 1:02d}" + start[11:]
        out += [fold(l) for l in (
            "BEGIN:VEVENT", f"UID:{uid}", "SUMMARY:Déplacé",
            f"RECURRENCE-ID;TZID=W. Europe Standard Time:{start}",
            f"DTSTART;TZID=W. Europe Standard Time:{moved}",
            f"DTEND;TZID=W. Europe Standard Time:{moved[:9]}{end_hour + 1:02d}{moved[11:]}",
            "END:VEVENT")]
    return b"\r\n".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--events", type=int, default=20000)
    ap.add_argument("--target-mb", type=float, default=20)
    a = ap.parse_args()
    rng = random.Random(20250301)
    # About 7 % of the bytes go to moved instances and the calendar's head.
    per_event = int(a.target_mb * 1024 * 1024 * 0.93 / a.events)
    with open(a.out, "wb") as f:
        f.write(b"BEGIN:VCALENDAR\r\nMETHOD:PUBLISH\r\n"
                b"PRODID:Microsoft Exchange Server 2010\r\nVERSION:2.0\r\n"
                b"X-WR-CALNAME:Corporate calendar\r\n")
        f.write(VTIMEZONE.replace("\n", "\r\n").encode() + b"\r\n")
        for i in range(a.events):
            f.write(event(rng, i, per_event) + b"\r\n")
        f.write(b"END:VCALENDAR\r\n")


if __name__ == "__main__":
    main()

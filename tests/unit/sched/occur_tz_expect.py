#!/usr/bin/env python3
"""Expected occurrences of repeating tasks on a zone's wall clock (docs/reference.md §13), computed
independently of taskwheel with Python's zoneinfo, for tests/unit/sched/test_occur_tz.c.

For each series (zone, first local date and wall time, repeat, monthly anchor) it walks the
series member by member with datetime arithmetic and takes each member's instant with fold=0
(PEP 495: a wall time in a gap is read with the offset before the gap, one in an overlap is
the first of the two -- docs/reference.md §13's rules). Then for "now" every 17 hours through 2026
and 2027 it prints the first member strictly after now (and not before the series' first
instant), one line per check:

    <zone> <repeat> <anchor> <once_utc> <now_utc> <expected_utc>

with times as integer seconds since the epoch.
"""
import bisect
import calendar
import datetime as dt
import sys
from zoneinfo import ZoneInfo

UTC = dt.timezone.utc
ZONES = ["Europe/Amsterdam", "America/New_York", "Australia/Sydney", "Asia/Kolkata",
         "Pacific/Chatham"]
# 02:30 is in the spring-forward gap and the fall-back overlap in Amsterdam and Sydney and
# in New York's gap; 01:30 is in New York's overlap; 03:15 in both of Chatham's (02:45-03:45).
WALL_TIMES = [(0, 0), (1, 30), (2, 30), (3, 15), (9, 0), (23, 30)]
# (repeat, first local date, anchor day). 2026-01-04 is a Sunday, the weekday of every DST
# change of these zones. Monthly anchors hit the change days: 29 (Amsterdam 2026-03-29),
# 25 (2026-10-25), 31 (2027-10-31, and clamping), 4/5 (Sydney, Chatham in April and October),
# 8 and 1 (New York 2026-03-08 and 2026-11-01), 27 (Chatham 2026-09-27), 28 (Amsterdam 2027).
SERIES = [("daily", dt.date(2026, 1, 1), 0), ("weekly", dt.date(2026, 1, 4), 0)] + [
    ("monthly", dt.date(2026, 1, a), a) for a in (1, 4, 5, 8, 25, 27, 28, 29, 31)]
START = dt.datetime(2026, 1, 1, tzinfo=UTC)
END = dt.datetime(2028, 1, 1, tzinfo=UTC)
STEP = dt.timedelta(hours=17)


def instant(zone, date, hour, minute):
    return int(dt.datetime(date.year, date.month, date.day, hour, minute, tzinfo=zone,
                           fold=0).timestamp())


def members(zone, repeat, first, anchor, hour, minute):
    k = 0
    while True:
        if repeat == "daily":
            d = first + dt.timedelta(days=k)
        elif repeat == "weekly":
            d = first + dt.timedelta(days=7 * k)
        else:
            y, m = divmod(first.month - 1 + k, 12)
            y += first.year
            d = dt.date(y, m + 1, min(anchor, calendar.monthrange(y, m + 1)[1]))
        yield instant(zone, d, hour, minute)
        k += 1


def main():
    out = sys.stdout
    for name in ZONES:
        zone = ZoneInfo(name)
        for hour, minute in WALL_TIMES:
            for repeat, first, anchor in SERIES:
                once = instant(zone, first, hour, minute)
                series = []
                for t in members(zone, repeat, first, anchor, hour, minute):
                    series.append(t)
                    if t > END.timestamp() + 40 * 86400:
                        break
                series.sort()  # a zone may map two wall days to one instant
                now = START
                while now < END:
                    n = int(now.timestamp())
                    if n >= once:
                        i = bisect.bisect_right(series, n)
                        while series[i] < once:
                            i += 1
                        out.write(f"{name} {repeat} {anchor} {once} {n} {series[i]}\n")
                    now += STEP


if __name__ == "__main__":
    main()

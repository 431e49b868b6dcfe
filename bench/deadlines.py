"""Due times of 100,000 open cases in working hours: geogrid's vectorised calendar against a
straightforward per-case loop over chinese-calendar's ``is_workday`` (the strongest honest
baseline: the package the shipped calendar comes from), and geogrid's own one-case call.

    .venv/bin/python -m bench.deadlines [--cases 100000] [--sample 5000]

No database: the calendar is the shipped one with the default office hours. The loops run on
``--sample`` cases and are scaled to the full count; every due time of the sample is checked
to agree between all three.
"""

from __future__ import annotations

import argparse
import random
import time
from datetime import datetime, timedelta

import numpy as np

from geogrid.calendar import (
    DEFAULT_OFFICE_HOURS,
    SHANGHAI,
    add_working_hours,
    build_calendar,
    shipped_calendar,
)

HOURS = [1, 2, 4, 4, 4, 24, 24, 48, 48, 72, 120, 168]  # the catalogue's handling hours


def baseline_due(start: datetime, hours: float, spans: list[tuple[int, int]]) -> datetime:
    """Walk day by day: on each working day (chinese_calendar.is_workday) use office spans."""
    import chinese_calendar

    local = start.astimezone(SHANGHAI).replace(tzinfo=None)
    remaining = hours * 3600.0
    day = local.date()
    while True:
        if chinese_calendar.is_workday(day):
            midnight = datetime(day.year, day.month, day.day)
            for a, b in spans:
                begin = max(midnight + timedelta(seconds=a), local)
                end = midnight + timedelta(seconds=b)
                free = (end - begin).total_seconds()
                if free <= 0:
                    continue
                if remaining <= free:
                    return (begin + timedelta(seconds=remaining)).replace(tzinfo=SHANGHAI)
                remaining -= free
        day += timedelta(days=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--sample", type=int, default=5_000)
    args = parser.parse_args()
    found = shipped_calendar()
    started = time.perf_counter()
    calendar = build_calendar(found.days, found.years, DEFAULT_OFFICE_HOURS)
    build_s = time.perf_counter() - started
    rng = random.Random(15)
    first = datetime(2024, 1, 1, tzinfo=SHANGHAI).timestamp()
    span = (datetime(2026, 6, 1, tzinfo=SHANGHAI).timestamp() - first) // 60
    starts = np.array([first + 60 * rng.randrange(int(span)) for _ in range(args.cases)])
    hours = np.array([rng.choice(HOURS) for _ in range(args.cases)], dtype=np.float64)

    runs = []
    for _ in range(5):
        t0 = time.perf_counter()
        dues, missing = calendar.add_seconds(starts, hours * 3600.0)
        runs.append(time.perf_counter() - t0)
    vector_s = min(runs)
    assert not missing.any()

    sample = range(min(args.sample, args.cases))
    moments = [datetime.fromtimestamp(float(starts[i]), SHANGHAI) for i in sample]
    t0 = time.perf_counter()
    one = [
        add_working_hours(m, float(hours[i]), calendar).at
        for i, m in zip(sample, moments, strict=True)
    ]
    one_s = (time.perf_counter() - t0) * args.cases / len(sample)
    spans = list(calendar.office_hours.spans)
    t0 = time.perf_counter()
    base = [baseline_due(m, float(hours[i]), spans) for i, m in zip(sample, moments, strict=True)]
    base_s = (time.perf_counter() - t0) * args.cases / len(sample)
    for i in sample:
        got = one[i]
        assert got is not None and abs(got.timestamp() - dues[i]) < 1e-3, i
        assert abs(base[i].timestamp() - dues[i]) < 1e-3, (i, base[i], got)

    print(
        f"due times of {args.cases:,} cases in working hours (shipped calendar 2004-2026, "
        f"office hours {DEFAULT_OFFICE_HOURS}); {len(sample):,} checked equal across all"
    )
    print(f"  calendar build (once per load)           {build_s * 1000:8.1f} ms")
    print(f"  geogrid, vectorised (WorkCalendar.add_seconds)  {vector_s * 1000:8.1f} ms")
    print(
        f"  geogrid, one call per case (scaled)       {one_s * 1000:8.1f} ms  "
        f"{one_s / vector_s:6.0f}x the vectorised"
    )
    print(
        f"  chinese-calendar is_workday loop (scaled) {base_s * 1000:8.1f} ms  "
        f"{base_s / vector_s:6.0f}x the vectorised"
    )
    print(f"  target: {args.cases:,} under 1 s -> {'met' if vector_s < 1 else 'MISSED'}")


if __name__ == "__main__":
    main()

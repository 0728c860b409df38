"""Cron fire times across daylight-saving changes (Europe/Paris, 2026): a job at 02:30
runs once on both change days, never twice and never not at all; jobs with * in the
minute or hour field keep their pace in elapsed time. These are the times the scheduler
stores as next_fire_at."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from runtime.triggers.cron.kind import next_fire_times
from runtime.triggers.cron.times import fire_times_until

PARIS = "Europe/Paris"
# 29 March 2026: 02:00 CET becomes 03:00 CEST (01:00 UTC); 02:30 does not exist.
# 25 October 2026: 03:00 CEST becomes 02:00 CET (01:00 UTC); 02:30 happens twice.


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def as_scheduler_fires(expression: str, after: datetime, count: int) -> list[datetime]:
    """One time at a time, each asked for just after the previous fired, as the scheduler
    does when it moves a schedule on."""
    times: list[datetime] = []
    for _ in range(count):
        [after] = next_fire_times(expression, PARIS, after=after, count=1)
        times.append(after)
        after += timedelta(milliseconds=200)
    return times


def test_a_daily_0230_runs_once_when_the_clocks_skip_it_at_the_gaps_end() -> None:
    times = next_fire_times("30 2 * * *", PARIS, after=utc(2026, 3, 27, 12), count=3)
    assert times == [utc(2026, 3, 28, 1, 30), utc(2026, 3, 29, 1, 0), utc(2026, 3, 30, 0, 30)]
    assert times[1].astimezone(ZoneInfo(PARIS)).isoformat() == "2026-03-29T03:00:00+02:00"


def test_a_daily_0230_runs_once_when_the_clocks_repeat_it() -> None:
    expected = [utc(2026, 10, 24, 0, 30), utc(2026, 10, 25, 0, 30), utc(2026, 10, 26, 1, 30)]
    assert next_fire_times("30 2 * * *", PARIS, after=utc(2026, 10, 23, 12), count=3) == expected
    assert as_scheduler_fires("30 2 * * *", utc(2026, 10, 23, 12), 3) == expected


def test_the_next_time_after_a_fire_is_always_later() -> None:
    for start in (utc(2026, 10, 24, 22), utc(2026, 3, 28, 22)):
        for expression in ("30 2 * * *", "30 * * * *", "*/20 * * * *", "0,30 1-3 * * *"):
            times = as_scheduler_fires(expression, start, 12)
            assert all(a < b for a, b in itertools.pairwise(times)), (expression, times)


def test_an_hourly_job_runs_in_both_repeated_hours_and_skips_the_missing_one() -> None:
    autumn = next_fire_times("30 * * * *", PARIS, after=utc(2026, 10, 24, 23, 45), count=3)
    assert autumn == [utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 2, 30)]
    spring = next_fire_times("30 * * * *", PARIS, after=utc(2026, 3, 28, 23, 45), count=2)
    assert spring == [utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1, 30)]  # 01:30 CET, 03:30 CEST


def test_an_every_minute_job_fires_every_minute_through_both_changes() -> None:
    for start in (utc(2026, 10, 24, 23, 30), utc(2026, 3, 29, 0, 30)):
        times = next_fire_times("* * * * *", PARIS, after=start, count=120)
        assert times[0] == start + timedelta(minutes=1)
        assert {b - a for a, b in itertools.pairwise(times)} == {timedelta(minutes=1)}


def test_catching_up_after_the_repeated_hour_picks_the_one_0230_there_was() -> None:
    latest = next(fire_times_until("30 2 * * *", ZoneInfo(PARIS), utc(2026, 10, 25, 1, 45)))
    assert latest == utc(2026, 10, 25, 0, 30)
    exact = next(fire_times_until("* * * * *", ZoneInfo(PARIS), utc(2026, 10, 25, 1, 0)))
    assert exact == utc(2026, 10, 25, 1, 0)  # a fire exactly at the moment counts

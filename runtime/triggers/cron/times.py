"""When a cron expression fires in a time zone, across daylight-saving changes.

croniter matches wall-clock times; given an aware start it also converts them, and around
the autumn change it gets that wrong: a daily 02:30 in Europe/Paris fires twice on the
last Sunday of October, and asked for the time after the second 02:30 it returns that
same 02:30 again (so a scheduler would never move on). So croniter is used here on naive
wall-clock times only, and this module turns those into instants by the rules of Vixie
cron:

- a time that does not exist (the spring gap): a job at fixed times runs once when the gap
  ends (02:30 → 03:00); a job with ``*`` in its minute or hour field skips it (it has other
  runs nearby, e.g. every hour);
- a time that happens twice (the autumn repeat): a job at fixed times runs at the first
  one only; a job with ``*`` in its minute or hour field runs at both, so "every hour" and
  "every minute" keep their pace in elapsed time.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

# The largest daylight-saving shift in the time zone database is two hours (Antarctica/
# Troll, British double summer time); wall times this far apart cannot swap order.
SHIFT = timedelta(hours=2)


def fire_times_after(expression: str, zone: ZoneInfo, after: datetime) -> Iterator[datetime]:
    """The fire instants strictly after ``after``, in order, as aware datetimes in UTC."""
    return _ordered(expression, zone, after, forward=True)


def fire_times_until(expression: str, zone: ZoneInfo, until: datetime) -> Iterator[datetime]:
    """The fire instants at or before ``until``, latest first, in UTC."""
    return _ordered(expression, zone, until, forward=False)


def _ordered(
    expression: str, zone: ZoneInfo, pivot: datetime, *, forward: bool
) -> Iterator[datetime]:
    fixed = _fixed_time(expression)
    sign = 1 if forward else -1
    # croniter steps strictly past its start: backwards, start just after the pivot's wall
    # time so that a fire exactly at the pivot is found.
    start = _wall(pivot, zone) - sign * _margin(zone, pivot)
    walls = croniter(expression, start if forward else start + timedelta(microseconds=1))
    step = walls.get_next if forward else walls.get_prev
    pending: list[tuple[float, datetime]] = []  # a heap: soonest (or latest) first
    seen: set[datetime] = set()
    while True:
        wall = step(datetime)
        # Instants of this wall time and all further ones lie beyond any pending instant
        # whose own wall time is more than a possible shift away: those are final.
        while pending and sign * (wall - _wall(pending[0][1], zone)) > _margin(zone, pending[0][1]):
            yield heapq.heappop(pending)[1]
        for instant in _instants(wall, zone, fixed=fixed):
            if (instant > pivot if forward else instant <= pivot) and instant not in seen:
                seen.add(instant)
                heapq.heappush(pending, (sign * instant.timestamp(), instant))


def _instants(wall: datetime, zone: ZoneInfo, *, fixed: bool) -> list[datetime]:
    """The instants a wall-clock time stands for: one, two (repeated) or none (a gap)."""
    candidates = {wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)}
    real = sorted(instant for instant in candidates if _wall(instant, zone) == wall)
    if not real:
        return [_gap_end(wall, zone)] if fixed else []
    return real[:1] if fixed else real


def _gap_end(wall: datetime, zone: ZoneInfo) -> datetime:
    """The instant the spring gap that ``wall`` falls in ends. PEP 495 maps a missing time
    to an instant on each side of the change (fold 1 before it, fold 0 after it); the
    change itself is found between them, to the minute."""
    before = wall.replace(tzinfo=zone, fold=1).astimezone(UTC)
    after = wall.replace(tzinfo=zone, fold=0).astimezone(UTC)
    later_offset = after.astimezone(zone).utcoffset()
    while after - before > timedelta(minutes=1):
        middle = (before + (after - before) / 2).replace(second=0, microsecond=0)
        if middle.astimezone(zone).utcoffset() == later_offset:
            after = middle
        else:
            before = middle
    return after


def _margin(zone: ZoneInfo, instant: datetime) -> timedelta:
    """How far out of order wall times may be near ``instant``: not at all unless the
    offset changes within SHIFT of it."""
    offsets = {(instant + delta).astimezone(zone).utcoffset() for delta in (-SHIFT, SHIFT)}
    return SHIFT if len(offsets) > 1 else timedelta(0)


def _wall(instant: datetime, zone: ZoneInfo) -> datetime:
    # Through UTC: astimezone() into the zone an aware time already has is a no-op, which
    # would hide that a wall time does not exist.
    return instant.astimezone(UTC).astimezone(zone).replace(tzinfo=None)


def _fixed_time(expression: str) -> bool:
    minute, hour = expression.split()[:2]
    return not (minute.startswith("*") or hour.startswith("*"))

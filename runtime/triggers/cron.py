"""trigger.cron: fire on a cron schedule in a time zone (croniter; DST by its rules)."""

from collections.abc import Iterable
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from django.conf import settings

from designer.graph import Graph, Node, Problem
from runtime.kinds import TriggerKind


class CronTrigger(TriggerKind):
    type = "trigger.cron"
    label = "Schedule"
    description = "Start the flow on a schedule, e.g. every night at 02:00."
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["expression"],
        "properties": {
            "expression": {
                "type": "string",
                "title": "Cron expression",
                "minLength": 1,
                "maxLength": 200,
                "x-widget": "cron",
                "description": "minute hour day month weekday, e.g. 0 2 * * *",
            },
            "timezone": {
                "type": "string",
                "title": "Time zone",
                "maxLength": 64,
                "description": "e.g. Europe/Paris; the server's time zone when empty.",
            },
            "catch_up": {
                "enum": ["skip", "once"],
                "title": "After downtime",
                "default": "skip",
                "description": "skip: wait for the next time; once: run once for what was missed.",
            },
        },
    }

    def check_config(self, node: Node, graph: Graph) -> Iterable[Problem]:
        problem = schedule_problem(node.config["expression"], node.config.get("timezone", ""))
        if problem:
            field, message = problem
            yield Problem(message, node=node.id, field=f"config.{field}")


KIND = CronTrigger()


def zone(name: str) -> ZoneInfo:
    return ZoneInfo(name or settings.TIME_ZONE)


def schedule_problem(expression: str, timezone: str) -> tuple[str, str] | None:
    """(field, message) saying what is wrong with a schedule, or None."""
    if not croniter.is_valid(expression):
        return "expression", (
            f"{expression!r} is not a cron expression; use five fields: "
            "minute hour day-of-month month day-of-week (e.g. 0 2 * * *)."
        )
    try:
        zone(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return "timezone", f"Unknown time zone {timezone!r}; use a name like Europe/Paris."
    return None


def next_fire_times(expression: str, timezone: str, *, after: datetime, count: int = 5) -> list:
    """The next ``count`` fire times after ``after``, as aware datetimes in the zone."""
    schedule = croniter(expression, after.astimezone(zone(timezone)))
    return [schedule.get_next(datetime) for _ in range(count)]

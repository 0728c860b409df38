"""trigger.dbchange: start on inserts, updates or deletes in a PostgreSQL table."""

from collections.abc import Iterable

from django.db import connection

from designer.graph import Graph, Node, Problem
from runtime.kinds import TriggerKind

IDENTIFIER = r"[A-Za-z_][A-Za-z0-9_$]{0,62}"


class DatabaseChangeTrigger(TriggerKind):
    type = "trigger.dbchange"
    label = "Database change"
    description = "Start the flow when rows change in a PostgreSQL table."
    config_schema = {
        "type": "object",
        "additionalProperties": False,
        "required": ["table"],
        "properties": {
            "table": {
                "type": "string",
                "title": "Table",
                "pattern": f"^{IDENTIFIER}\\.{IDENTIFIER}$",
                "description": "Schema-qualified, e.g. public.orders.",
            },
            "operations": {
                "type": "array",
                "title": "On",
                "minItems": 1,
                "uniqueItems": True,
                "items": {"enum": ["insert", "update", "delete"]},
                "default": ["insert", "update", "delete"],
            },
            "columns": {
                "type": "array",
                "title": "Only when these columns change",
                "uniqueItems": True,
                "items": {"type": "string", "pattern": f"^{IDENTIFIER}$"},
            },
        },
    }

    def check_config(self, node: Node, graph: Graph) -> Iterable[Problem]:
        if connection.vendor != "postgresql":
            yield Problem(
                "Database-change triggers need PostgreSQL; this server runs on "
                f"{connection.vendor}. Set DATABASE_URL to a PostgreSQL database.",
                node=node.id,
                field="type",
            )


KIND = DatabaseChangeTrigger()

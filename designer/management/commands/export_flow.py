"""Write a flow as JSON in the import/export format (the graph contract plus its name)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from designer.models import Flow, FlowVersion
from designer.services import flow_export


class Command(BaseCommand):
    help = "Export a flow's live (or latest, or given) version as JSON."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("flow_id", type=int)
        parser.add_argument(
            "--number",
            type=int,
            dest="number",
            help="Version number (default: live, else latest).",
        )
        parser.add_argument("-o", "--output", help="File to write (default: standard output).")

    def handle(
        self, *args: Any, flow_id: int, number: int | None, output: str | None, **options: Any
    ) -> None:
        flow = Flow.objects.filter(pk=flow_id).select_related("live_version").first()
        if flow is None:
            raise CommandError(f"There is no flow {flow_id}.")
        versions = FlowVersion.objects.filter(flow=flow)
        if number is not None:
            version = versions.filter(number=number).first()
        else:
            version = flow.live_version or versions.order_by("-number").first()
        if version is None:
            raise CommandError(f"Flow {flow_id} has no version {number or ''}to export.")
        text = json.dumps(flow_export(flow=flow, version=version), indent=2, ensure_ascii=False)
        if output:
            Path(output).write_text(text + "\n")
            self.stderr.write(f"Wrote {flow.name!r} v{version.number} to {output}.")
        else:
            self.stdout.write(text)

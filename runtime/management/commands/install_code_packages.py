"""Install the Python and npm packages code steps may import into the runner environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from runtime.sandbox.config import (
    NPM_PACKAGES_SETTING,
    PYTHON_PACKAGES_SETTING,
    declared_packages,
    from_settings,
)
from runtime.sandbox.packages import InstallError, install_npm, install_python, unpinned


class Command(BaseCommand):
    help = (
        f"Install the packages listed in {PYTHON_PACKAGES_SETTING} and {NPM_PACKAGES_SETTING} "
        "into the code-step runner's own directory (never the app's virtualenv). The runner "
        "then holds exactly those packages: one removed from the list is uninstalled."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--python", nargs="*", metavar="SPEC", help="Python specs instead of the setting."
        )
        parser.add_argument("--npm", nargs="*", metavar="SPEC", help="npm specs instead.")
        parser.add_argument(
            "--runner-dir", type=Path, help="Runner directory (default: from settings)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        config = from_settings()
        runner = options["runner_dir"] or config.runner_dir
        python = options["python"]
        npm = options["npm"]
        if python is None:
            python = declared_packages(PYTHON_PACKAGES_SETTING)
        if npm is None:
            npm = declared_packages(NPM_PACKAGES_SETTING)
        for language, specs in (("python", python), ("npm", npm)):
            for spec in unpinned(specs, language):
                self.stderr.write(f"Warning: {spec!r} is not pinned to one version.")
        try:
            install_python(python, runner / "python")
            self.stdout.write(f"Python packages in {runner / 'python'}: {', '.join(python) or '-'}")
            install_npm(npm, runner / "node")
            self.stdout.write(f"npm packages in {runner / 'node'}: {', '.join(npm) or '-'}")
        except InstallError as exc:
            raise CommandError(str(exc)) from exc

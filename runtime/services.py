"""What the rest of Tributary may ask of the runtime."""

from collections.abc import Mapping

from runtime.catalog import CATALOG
from runtime.kinds import Kind


def step_catalog() -> Mapping[str, Kind]:
    return CATALOG

"""Reading a test run's sample for a trigger kind's ``test_input``: the keys a live firing
has, and its times."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from django.utils import timezone

from runtime.kinds.contract import SampleRefused


def sample_fields(sample: Any, keys: Collection[str], shape: str) -> dict[str, Any]:
    """The sample as an object with only ``keys`` (each optional); SampleRefused naming
    ``shape`` (what a live firing delivers) otherwise."""
    if sample is None:
        return {}
    if not isinstance(sample, dict):
        raise SampleRefused(f"{shape} Give the test input as an object with those keys.")
    unknown = sorted(set(sample) - set(keys))
    if unknown:
        raise SampleRefused(f"{shape} A live run has no {', '.join(map(repr, unknown))}.")
    return sample


def sample_time(value: Any, name: str) -> str:
    """An ISO 8601 time with its offset, as live firings give them; now when missing."""
    if value in (None, ""):
        return timezone.now().isoformat()
    try:
        moment = datetime.fromisoformat(str(value))
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        example = timezone.now().replace(microsecond=0).isoformat()
        raise SampleRefused(f"{name} is a time with its offset, e.g. {example}.")
    return str(value)

"""The Kubernetes manifests of the README's "Autoscaling across machines" parse, have the
shape their kinds need, and scale on metrics /metrics really exports: renaming a metric,
a queue or the grace a step needs fails here before it fails an operator's cluster."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.conf import settings
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from designer.graph import SETTINGS_SCHEMA
from runtime.engine.dispatch import HARD_GRACE_SECONDS
from runtime.http.metrics import REGISTRY

README = Path(__file__).resolve().parent.parent / "README.md"
SECTION = "#### Autoscaling across machines"
API_VERSIONS = {
    "HorizontalPodAutoscaler": "autoscaling/v2",
    "ScaledObject": "keda.sh/v1alpha1",
    "Deployment": "apps/v1",
}
METRIC = re.compile(r"\btributary_[a-z_]+")


def section_lines() -> list[str]:
    """The lines of SECTION, up to the next heading (a ``#`` inside a fence is a comment)."""
    lines = README.read_text().splitlines()
    start = lines.index(SECTION) + 1
    fenced = False
    for end in range(start, len(lines)):
        fenced ^= lines[end].startswith("```")
        if not fenced and lines[end].startswith("#"):
            return lines[start:end]
    return lines[start:]


def yaml_documents() -> list[Any]:
    documents: list[Any] = []
    block: list[str] | None = None
    for line in section_lines():
        if block is None and line.strip() == "```yaml":
            block = []
        elif block is not None and line.strip() == "```":
            documents.extend(d for d in yaml.safe_load_all("\n".join(block)) if d is not None)
            block = None
        elif block is not None:
            block.append(line)
    assert block is None, "a ```yaml block is not closed"
    return documents


def by_kind(documents: list[Any]) -> dict[str, dict[str, Any]]:
    kinds = [doc["kind"] for doc in documents if "kind" in doc]
    assert len(kinds) == len(set(kinds)), kinds
    return {doc["kind"]: doc for doc in documents if "kind" in doc}


@pytest.fixture
def exported(db: None) -> set[str]:
    """The metric names of one scrape, as the collector yields them (families, not the
    samples' suffixed names)."""
    text = generate_latest(REGISTRY).decode()
    return {family.name for family in text_string_to_metric_families(text)}


def test_the_section_has_the_three_manifests_in_their_api_versions() -> None:
    manifests = by_kind(yaml_documents())
    assert set(manifests) == set(API_VERSIONS)
    for kind, manifest in manifests.items():
        assert manifest["apiVersion"] == API_VERSIONS[kind], kind
        assert manifest["metadata"]["name"], kind


def test_the_compute_pool_scales_to_zero_on_metrics_that_are_exported(exported: set[str]) -> None:
    manifests = by_kind(yaml_documents())
    scaled = manifests["ScaledObject"]["spec"]
    assert scaled["minReplicaCount"] == 0
    assert scaled["scaleTargetRef"]["name"] == manifests["Deployment"]["metadata"]["name"]
    queries = [trigger["metadata"]["query"] for trigger in scaled["triggers"]]
    assert all(trigger["type"] == "prometheus" for trigger in scaled["triggers"])
    named = {name for query in queries for name in METRIC.findall(query)}
    assert "tributary_queue_oldest_age_seconds" in named
    assert named <= exported, named - exported
    assert all('queue="compute"' in query for query in queries), queries
    for trigger in scaled["triggers"]:  # KEDA takes its thresholds as strings
        assert isinstance(trigger["metadata"]["threshold"], str)


def test_the_compute_deployment_serves_compute_and_outwaits_the_longest_step() -> None:
    deployment = by_kind(yaml_documents())["Deployment"]["spec"]["template"]["spec"]
    [worker] = deployment["containers"]
    command = shlex.join(worker["command"])
    assert command.startswith("celery -A config worker")
    assert "-Q compute" in command
    assert "compute" in settings.TRIBUTARY_QUEUE_NAMES
    longest_step = SETTINGS_SCHEMA["properties"]["timeout_seconds"]["maximum"]
    assert deployment["terminationGracePeriodSeconds"] >= longest_step + HARD_GRACE_SECONDS


def test_the_io_hpa_reads_an_exported_metric_the_adapter_serves(exported: set[str]) -> None:
    documents = yaml_documents()
    hpa = by_kind(documents)["HorizontalPodAutoscaler"]["spec"]
    [metric] = hpa["metrics"]
    assert metric["type"] == "External"
    assert metric["external"]["metric"]["name"] in exported
    assert metric["external"]["metric"]["selector"]["matchLabels"] == {"queue": "io"}
    assert metric["external"]["target"]["type"] == "AverageValue"
    assert 1 <= hpa["minReplicas"] <= hpa["maxReplicas"]
    [adapter] = [doc for doc in documents if "externalRules" in doc]
    served = {
        name for rule in adapter["externalRules"] for name in METRIC.findall(rule["seriesQuery"])
    }
    assert metric["external"]["metric"]["name"] in served
    assert served <= exported

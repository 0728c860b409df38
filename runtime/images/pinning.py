"""A saved flow version records the digest of each image its container steps name, so a
published version always runs the same bytes: registering the name again changes only the
versions saved afterwards (and the version diff shows the new digest)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from designer.graph import Graph, Node, Problem
from runtime.models import ContainerImage

STEP_TYPE = "code.container"


def current_digests(workspace_id: int, names: Iterable[str]) -> dict[str, str]:
    """The digest each name points to now (names without a ready image are left out)."""
    images = ContainerImage.objects.filter(
        workspace_id=workspace_id,
        name__in=set(names),
        current=True,
        status=ContainerImage.Status.READY,
    )
    return dict(images.values_list("name", "digest"))


def pin(graph: Graph, workspace_id: int) -> Graph:
    """``graph`` with each container step's ``digest`` set to its image's current digest."""
    nodes = [node for node in graph.nodes.values() if node.type == STEP_TYPE]
    if not nodes:
        return graph
    digests = current_digests(workspace_id, (str(node.config.get("image")) for node in nodes))
    pinned = dict(graph.nodes)
    for node in nodes:
        digest = digests.get(str(node.config.get("image")))
        if digest and node.config.get("digest") != digest:
            pinned[node.id] = dataclasses.replace(node, config={**node.config, "digest": digest})
    return dataclasses.replace(graph, nodes=pinned)


def image_problems(nodes: Sequence[Node], workspace_id: int) -> Iterable[Problem]:
    """A container step whose image name is not registered (ready) in the workspace."""
    digests = current_digests(workspace_id, (str(node.config.get("image")) for node in nodes))
    for node in nodes:
        name = str(node.config.get("image", ""))
        if name not in digests:
            yield Problem(
                f"There is no image named {name!r} in this workspace: register it on the "
                "Images page first.",
                node=node.id,
                field="config.image",
            )

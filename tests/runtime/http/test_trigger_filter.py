"""The runs list filters by every kind of trigger that starts runs (the error trigger and
sub-flow calls were missing from it)."""

from __future__ import annotations

import pytest

from runtime.kinds.catalog import CATALOG
from tests.conftest import Team


@pytest.mark.django_db
def test_the_runs_list_offers_every_trigger_kind_of_the_catalog(team: Team) -> None:
    client = team.client(team.viewer)
    page = client.get("/runs/").content.decode()
    for kind in CATALOG.values():
        if kind.category == "trigger":
            short = kind.type.removeprefix("trigger.")
            assert f'<option value="{short}"' in page, kind.type

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.db import connection


@pytest.fixture
def shop_table() -> Iterator[str]:
    """A shop's orders table, created by the test as a stranger to Tributary."""
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE shop_orders (id serial PRIMARY KEY, email text, status text, note text)"
        )
    yield "public.shop_orders"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS shop_orders")

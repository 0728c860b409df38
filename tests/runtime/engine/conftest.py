"""The engine's tests share the root conftest (tests/conftest.py leaves out tests marked
``long`` unless asked for)."""

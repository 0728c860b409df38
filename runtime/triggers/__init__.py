"""Trigger kinds: one module each. They start runs; see runtime/catalog.py for the registry."""

"""Step kinds: one module each, owning its config schema; see runtime/catalog.py."""

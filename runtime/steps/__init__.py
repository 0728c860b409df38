"""Step kinds: one module each, owning its config schema; see runtime/kinds/catalog.py."""

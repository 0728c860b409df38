"""Trigger kinds, each with its ingress: a module per kind, or a package when the kind
also receives what starts it (webhook/endpoint.py, queue/listener.py, cron/fire.py,
dbchange/outbox.py; events.py holds emit()). They start runs through runtime.runs; the
registry is runtime/kinds/catalog.py."""

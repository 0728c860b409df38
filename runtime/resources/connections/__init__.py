"""Named connections to databases and message brokers: their settings and encrypted
password (models in runtime/models/connections.py), one client module per kind under
``clients/``, and the services, selectors and test-connection the API and admin use.

Steps and triggers get a connection's settings through ``resolve`` (params.py), which also
records the password so the run's stored input, output, logs and errors are redacted."""

"""What a workspace holds for its flows to use: secrets (secrets.py) and named connections
to databases and brokers (connections/)."""

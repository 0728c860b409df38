"""Replays: past runs' trigger input run again against any saved version, with the steps
that act on the world simulated from what the original run recorded; the node-by-node
difference; flow tests, which are replays with expectations, gating publishing."""

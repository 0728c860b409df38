"""The chaos test's machinery: a private stack it may break (rig), the ledger that receives
the flow's effect, the faults it injects, the customer that posts orders, and the tally."""

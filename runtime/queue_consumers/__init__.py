"""The consumer process of queue triggers: a supervisor (supervisor.py) that follows the
active QueueSubscription rows, one consumer thread per subscription (worker.py), and what
happens to each message (delivery.py)."""

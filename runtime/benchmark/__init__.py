"""`manage.py benchmark`: Tributary measured beside bare Celery, Django and Channels
baselines taken in the same run, on the same machine and stack (see README)."""

# The prefix of the benchmark's queues on a shared Redis (runtime.benchmark.settings): the
# harness names them to start a worker for some of them.
QUEUE_PREFIX = "tributary-benchmark-"

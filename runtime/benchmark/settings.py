"""Settings for the processes `manage.py benchmark` starts: the project's own (the point is
to measure the real configuration), plus the baseline endpoints and tasks, a result backend
for the `.delay().get()` baseline, and names of its own on a shared Redis (queues, channel
prefix, cache prefix) so a benchmark never touches a production queue."""

from config.settings import *  # noqa: F403 - measure exactly what production runs
from config.settings import CACHES, CHANNEL_LAYERS, REDIS_URL, celery_routing
from runtime.benchmark import QUEUE_PREFIX

ROOT_URLCONF = "runtime.benchmark.urls"
CELERY_INCLUDE = ["runtime.benchmark.tasks"]
if REDIS_URL:
    CELERY_RESULT_BACKEND = REDIS_URL
    TRIBUTARY_QUEUE_PREFIX = QUEUE_PREFIX
    CELERY_TASK_QUEUES, CELERY_TASK_DEFAULT_QUEUE, CELERY_TASK_ROUTES = celery_routing(QUEUE_PREFIX)
    CHANNEL_LAYERS["default"]["CONFIG"]["prefix"] = "tributary-benchmark"
    CACHES["default"]["KEY_PREFIX"] = "tributary-benchmark"
else:
    CELERY_RESULT_BACKEND = "cache+memory://"

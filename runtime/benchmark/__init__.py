"""`manage.py benchmark`: Tributary measured beside bare Celery, Django and Channels
baselines taken in the same run, on the same machine and stack (see README)."""

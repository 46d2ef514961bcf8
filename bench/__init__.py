"""The broker's benchmark: `make bench` (or `python -m bench`) from the repo root.

It measures, on loopback against moto with IAM enforcement on: each OSB operation's latency and
the AWS calls it makes, against the floor of the same AWS calls made straight with boto3; binds
and provisions at once; and the broker beside a bare openbrokerapi app under gunicorn as the
Procfile runs it (CPU per catalog request, requests/s, memory, start to first answer).
Results go to bench/results/latest.{json,md}. Nothing here asserts on time.
"""

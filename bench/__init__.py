"""The broker's benchmark: `make bench` (or `python -m bench`) from the repo root.

It measures, on loopback against moto with IAM enforcement on: each OSB operation's latency and
the AWS calls it makes, against the floor of the same AWS calls made straight with boto3; binds
and provisions at once; latency with thousands of existing instances and bindings; and catalog
throughput, memory and start-up time under gunicorn as the Procfile runs it.
Results go to bench/results/latest.{json,md,png}. Nothing here asserts on time.
"""

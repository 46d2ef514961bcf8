"""Local development only (`make run`, the tests, the bench): moto behind a gate that judges as AWS does."""

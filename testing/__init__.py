"""What the tests and the benchmarks share: the local backend and broker servers, the cf stand-in, AWS
clients made from the broker's credentials, call counters and process runners. Nothing here is shipped."""

"""Everything that talks to AWS: clients, buckets, IAM users, the key probe, AWS errors."""

"""A Cloud Foundry service broker for Amazon S3 buckets."""

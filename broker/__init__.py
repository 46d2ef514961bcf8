"""A Cloud Foundry service broker for Amazon S3 buckets."""

__version__ = "1.0.0"

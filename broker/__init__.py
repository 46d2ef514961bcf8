"""A Cloud Foundry service broker for Amazon S3 buckets."""

# The one place the version is written: the CLI, the catalog's metadata, every log line and the
# User-Agent of the broker's AWS calls read it from here. CHANGELOG.md says what each one holds.
__version__ = "1.0.0"

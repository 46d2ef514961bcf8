"""Pure checks against hostile or impossible input, decided before any AWS call."""

from __future__ import annotations

from typing import Any

# OSB bodies are a few levels deep; this leaves room for user parameters without letting a
# nested body reach Python's recursion limit anywhere it is walked.
MAX_JSON_DEPTH = 32
# S3 refuses a CORS configuration over 64 KB (as XML, the form AWS receives).
MAX_CORS_XML_BYTES = 64 * 1024
# Bucket name starts and ends S3 reserves for its own features (access points, directory
# buckets, table buckets, multi-region access points, demo names, punycode).
S3_RESERVED_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
S3_RESERVED_SUFFIXES = ("-s3alias", "--ol-s3", "--x-s3", "--table-s3", ".mrap")


def too_deep(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    """Whether parsed JSON nests objects/arrays more than `limit` levels (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return False


def reserved_bucket_name(name: str) -> str | None:
    """The reserved prefix or suffix a bucket name uses, or None."""
    for prefix in S3_RESERVED_PREFIXES:
        if name.startswith(prefix):
            return prefix
    for suffix in S3_RESERVED_SUFFIXES:
        if name.endswith(suffix):
            return suffix
    return None


def cors_xml_bytes(rules: Any) -> int:
    """About how many bytes S3 would count for these CORS rules as XML (0 if they are not rules at all)."""
    if not isinstance(rules, list):
        return 0
    size = len("<CORSConfiguration></CORSConfiguration>")
    for rule in rules:
        if not isinstance(rule, dict):
            continue
        size += len("<CORSRule></CORSRule>")
        for name, value in rule.items():
            for item in value if isinstance(value, list) else [value]:
                size += 2 * len(str(name)) + len("<></>") + len(str(item).encode())
    return size

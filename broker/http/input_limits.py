"""Pure checks against hostile or impossible input, decided before any AWS call."""

from __future__ import annotations

from typing import Any

# OSB bodies are a few levels deep; this leaves room for user parameters without letting a
# nested body reach Python's recursion limit anywhere it is walked.
MAX_JSON_DEPTH = 32
# S3 refuses a CORS configuration over 64 KB (as XML, the form AWS receives).
MAX_CORS_XML_BYTES = 64 * 1024


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


def cors_xml_bytes(rules: Any) -> int:
    """About how many bytes S3 would count for these CORS rules as XML (0 if they are not rules at all)."""
    if not isinstance(rules, list):
        return 0
    size = len("<CORSConfiguration></CORSConfiguration>")
    # A lone surrogate is counted, not fatal: parameter validation refuses it by name.
    for rule in rules:
        if not isinstance(rule, dict):
            continue
        size += len("<CORSRule></CORSRule>")
        for name, value in rule.items():
            for item in value if isinstance(value, list) else [value]:
                encoded = str(item).encode(errors="surrogatepass")
                size += 2 * len(str(name)) + len("<></>") + len(encoded)
    return size

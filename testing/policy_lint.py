"""parliament, the IAM policy linter, as the tests use it: findings of MEDIUM severity or above."""

from __future__ import annotations

import json
from typing import Any

from parliament import analyze_policy_string, enhance_finding

SEVERITIES = ["MUTE", "INFO", "LOW", "MEDIUM", "HIGH", "CRITICAL"]


def serious_findings(document: dict[str, Any], *, resource_policy: bool = False) -> list[str]:
    """What parliament finds wrong at MEDIUM or above, one line each (empty when the document is sound)."""
    policy = analyze_policy_string(json.dumps(document), include_community_auditors=False)
    findings = []
    for finding in policy.findings:
        finding = enhance_finding(finding)
        if resource_policy and finding.issue == "UNKNOWN_PRINCIPAL":
            continue  # parliament checks principals against account ids it knows; the tests' are made up
        if SEVERITIES.index(finding.severity) >= SEVERITIES.index("MEDIUM"):
            findings.append(f"{finding.issue} {finding.severity}: {finding.detail}")
    return findings

"""How a part's score follows from its verdict: the one rule, used by the gradebook and the report.

A test cell's part earns its points when the trusted checks passed and no
sign of tampering touches it. A finding about one student name (a value with
rigged comparisons) costs the parts whose tests use that name; a finding about
the whole process (a patched NumPy, an IPython hook, a leftover process) costs
every autograded part of the notebook.
"""

from __future__ import annotations


def findings_against(verdict: dict, findings: list[dict]) -> list[str]:
    """The findings that void this part."""
    names = set(verdict.get("student_names", []))
    return [f["text"] for f in findings if f.get("scope") is None or f.get("scope") in names]


def part_score(verdict: dict | None, points: float, findings: list[dict]) -> float:
    """Points for one autograded part; a part without a verdict (its test never ran) earns 0."""
    if verdict is None or not verdict.get("passed") or findings_against(verdict, findings):
        return 0.0
    return float(points)

"""The course's late-work policy, as an nbgrader late-submission plugin.

nbgrader's ``AssignLatePenalties`` asks ``c.AssignLatePenalties.plugin_class``
for each late notebook's penalty. nbgrader itself offers only "no penalty" and
"zero"; a course usually takes a share of the score off per day (or part of a
day) late, after a short grace period, up to a cap. ``nbgrader_config.py``
chooses and tunes the policy.
"""

from __future__ import annotations

import math

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Float


class PercentPerDay(LateSubmissionPlugin):
    """Take ``percent_per_day`` of the score off per started day late, at most ``max_percent``."""

    percent_per_day = Float(10.0, help="share of the score lost per started day late").tag(
        config=True)
    grace_minutes = Float(0.0, help="minutes after the due date that still count as on time").tag(
        config=True)
    max_percent = Float(100.0, help="the largest share of the score a late submission loses").tag(
        config=True)

    def days_late(self, total_seconds_late: float) -> int:
        """Started days late, after the grace period (0 when on time)."""
        seconds = total_seconds_late - 60 * self.grace_minutes
        return math.ceil(seconds / 86400) if seconds > 0 else 0

    def late_submission_penalty(self, student_id: str, score: float,
                                total_seconds_late: float) -> float:
        share = min(self.max_percent, self.percent_per_day * self.days_late(total_seconds_late))
        return round(score * share / 100, 6)

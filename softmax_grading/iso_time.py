"""Reading an ISO 8601 date and time: the one parser behind due dates and submission times."""

from __future__ import annotations

import datetime as dt

from dateutil import parser as date_parser


def parse_iso_time(text: str) -> dt.datetime | None:
    """``text`` as a datetime (naive when it gives no time zone), or None if it is not an ISO 8601
    date and time. A space may stand for the ``T`` between the date and the time."""
    try:
        return date_parser.isoparse(text.replace(" ", "T", 1)) if text else None
    except (ValueError, OverflowError):
        return None

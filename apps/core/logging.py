"""Structured JSON logs that carry the request id of the request being served."""

from __future__ import annotations

import logging

from apps.core.request_id import current_request_id


class RequestIdFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True

"""Hide the passwords of URLs (`postgresql://user:secret@host/db`) in anything mlplan prints or logs."""

from __future__ import annotations

import logging
import re

# user:password@ after a scheme, up to the last @ before a space or a quote: a password may
# hold a raw @ or /, and hiding a little too much is better than showing part of one.
_CREDENTIALS = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@'\"]*):[^\s'\"]*@")
HIDDEN = "***"


def redact(text: str) -> str:
    """Return the text with the password of every URL in it replaced by ***."""
    return _CREDENTIALS.sub(rf"\g<head>:{HIDDEN}@", text)


class RedactingFormatter(logging.Formatter):
    """Format log records, tracebacks included, with every URL's password hidden."""

    def format(self, record: logging.LogRecord) -> str:
        """Format the record as logging would, then hide the passwords."""
        return redact(super().format(record))

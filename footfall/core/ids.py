"""Athlete, session and device ids: restricted so that they can never contain MQTT wildcards,
topic separators, or anything that needs escaping in InfluxDB or a file name."""

from __future__ import annotations

import re

from footfall.core.errors import InputError

#: the id rule as a regular expression (also used by the wire events' declarations)
IdPattern = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_ID = re.compile(IdPattern)


class IdError(InputError):
    """An id does not follow the rule (1–64 letters, digits, ``_ . -``)."""


def check_id(kind: str, value: str) -> str:
    if not isinstance(value, str) or not _ID.match(value):
        raise IdError(
            f"{kind} id {value!r} is invalid: use 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return value

"""A small, deterministic YAML writer for the provisioning files footfall generates.

Only what those files need: mappings, sequences, strings, numbers, booleans. Strings are
written JSON-quoted (a JSON string is a valid YAML double-quoted scalar), so no value can be
misread as another type (``"no"``, ``"1.0"``, ``"$VAR"`` stay strings).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence

_PLAIN_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class YamlTypeError(TypeError):
    """A value of a type this writer does not emit."""


def _scalar(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    raise YamlTypeError(f"cannot write {type(value).__name__} {value!r} as YAML")


def _key(key: object) -> str:
    if not isinstance(key, str):
        raise YamlTypeError(f"mapping keys must be strings, got {key!r}")
    return key if _PLAIN_KEY.match(key) else json.dumps(key, ensure_ascii=False)


def _lines(value: object, indent: int) -> list[str]:
    pad = " " * indent
    if isinstance(value, Mapping):
        if not value:
            return [pad + "{}"]
        out = []
        for key, item in value.items():
            if isinstance(item, Mapping | list | tuple) and item:
                out.append(f"{pad}{_key(key)}:")
                out.extend(_lines(item, indent + 2))
            else:
                out.append(f"{pad}{_key(key)}: {_inline(item)}")
        return out
    if isinstance(value, list | tuple):
        if not value:
            return [pad + "[]"]
        out = []
        for item in value:
            if isinstance(item, Mapping | list | tuple) and item:
                nested = _lines(item, indent + 2)
                out.append(f"{pad}- {nested[0].lstrip()}")
                out.extend(nested[1:])
            else:
                out.append(f"{pad}- {_inline(item)}")
        return out
    return [pad + _scalar(value)]


def _inline(value: object) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    return _scalar(value)


def dump(document: Mapping[str, object], *, header: Sequence[str] = ()) -> str:
    """``document`` as block-style YAML, preceded by ``header`` lines as comments."""
    comments = [f"# {line}".rstrip() for line in header]
    return "\n".join([*comments, *_lines(document, 0)]) + "\n"

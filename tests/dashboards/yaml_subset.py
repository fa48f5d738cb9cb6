"""A strict reader for the block-style YAML subset footfall's deployment files use.

PyYAML is not a footfall dependency, and the compose file and provisioning files must be
checked in every test run. This reads block mappings and sequences, quoted and plain scalars
and one-line flow sequences; anything else (anchors, tags, block scalars, flow mappings,
several documents) is refused with the line, never guessed. When PyYAML happens to be
installed the tests also compare both readers' results.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

_INT = re.compile(r"^[-+]?\d+$")
_FLOAT = re.compile(r"^[-+]?(\d+\.\d*|\.\d+|\d+)([eE][-+]?\d+)?$")


class YamlSubsetError(ValueError):
    """The text uses YAML this reader does not support, or is malformed."""


@dataclass(frozen=True)
class _Line:
    number: int
    indent: int
    text: str


def _strip_comment(text: str) -> str:
    quote = ""
    for i, ch in enumerate(text):
        if quote:
            if ch == quote and not (quote == '"' and text[i - 1] == "\\"):
                quote = ""
        elif ch in "\"'" and (i == 0 or text[i - 1] in " [,:-"):
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t"):
            return text[:i].rstrip()
    return text.rstrip()


def _lines(source: str) -> list[_Line]:
    out = []
    for number, raw in enumerate(source.splitlines(), start=1):
        if "\t" in raw[: len(raw) - len(raw.lstrip())]:
            raise YamlSubsetError(f"line {number}: tab in indentation")
        text = _strip_comment(raw)
        if not text.strip():
            continue
        if text.strip() in ("---", "..."):
            raise YamlSubsetError(f"line {number}: several documents are not supported")
        out.append(_Line(number, len(text) - len(text.lstrip()), text.strip()))
    return out


def _split_flow(body: str, number: int) -> list[str]:
    items, current, quote = [], "", ""
    for i, ch in enumerate(body):
        if quote:
            current += ch
            if ch == quote and not (quote == '"' and body[i - 1] == "\\"):
                quote = ""
        elif ch in "\"'":
            quote = ch
            current += ch
        elif ch == ",":
            items.append(current.strip())
            current = ""
        elif ch in "[]{}":
            raise YamlSubsetError(f"line {number}: nested flow collections are not supported")
        else:
            current += ch
    if current.strip():
        items.append(current.strip())
    return items


def scalar(text: str, number: int = 0) -> object:
    if not text:
        return None
    if text[0] in "&*!|>{" or text.startswith("<<"):
        if text != "{}":
            raise YamlSubsetError(f"line {number}: unsupported YAML {text[:20]!r}")
        return {}
    if text.startswith("["):
        if not text.endswith("]"):
            raise YamlSubsetError(f"line {number}: multi-line flow sequences are not supported")
        return [scalar(item, number) for item in _split_flow(text[1:-1], number)]
    if text.startswith('"'):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise YamlSubsetError(f"line {number}: bad double-quoted string {text!r}") from exc
        return str(value)
    if text.startswith("'"):
        if not text.endswith("'") or len(text) < 2:
            raise YamlSubsetError(f"line {number}: bad single-quoted string {text!r}")
        return text[1:-1].replace("''", "'")
    if text in ("null", "~", "Null", "NULL"):
        return None
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if text.lower() in ("yes", "no", "on", "off"):
        raise YamlSubsetError(f"line {number}: ambiguous YAML 1.1 boolean {text!r}: quote it")
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text


def _key_value(text: str, number: int) -> tuple[str, str]:
    if text.startswith(('"', "'")):
        end = text.index(text[0], 1)
        key, rest = str(scalar(text[: end + 1], number)), text[end + 1:]
        if not rest.startswith(":"):
            raise YamlSubsetError(f"line {number}: expected ':' after key {key!r}")
        return key, rest[1:].strip()
    match = re.match(r"^([^:\s][^:]*?):(\s+(.*))?$", text)
    if match is None:
        raise YamlSubsetError(f"line {number}: expected 'key: value', got {text!r}")
    return match.group(1), (match.group(3) or "").strip()


class _Parser:
    def __init__(self, lines: list[_Line]) -> None:
        self.lines = lines
        self.i = 0

    def block(self, indent: int) -> object:
        line = self.lines[self.i]
        if line.text == "-" or line.text.startswith("- "):
            return self.sequence(line.indent)
        return self.mapping(line.indent)

    def mapping(self, indent: int) -> dict[str, object]:
        out: dict[str, object] = {}
        while self.i < len(self.lines):
            line = self.lines[self.i]
            if line.indent < indent:
                break
            if line.indent > indent:
                raise YamlSubsetError(f"line {line.number}: unexpected indentation")
            if line.text.startswith("- ") or line.text == "-":
                break
            key, rest = _key_value(line.text, line.number)
            if key in out:
                raise YamlSubsetError(f"line {line.number}: duplicate key {key!r}")
            self.i += 1
            out[key] = self.value_after(rest, indent, line.number)
        return out

    def value_after(self, rest: str, indent: int, number: int) -> object:
        if rest:
            return scalar(rest, number)
        if self.i < len(self.lines):
            nxt = self.lines[self.i]
            if nxt.indent > indent or (nxt.indent == indent and nxt.text.startswith("-")):
                return self.block(nxt.indent)
        return None

    def sequence(self, indent: int) -> list[object]:
        out: list[object] = []
        while self.i < len(self.lines):
            line = self.lines[self.i]
            if line.indent != indent or not (line.text == "-" or line.text.startswith("- ")):
                if line.indent > indent:
                    raise YamlSubsetError(f"line {line.number}: unexpected indentation")
                break
            rest = line.text[1:].strip()
            if not rest:
                self.i += 1
                out.append(self.value_after("", indent, line.number))
            elif (re.match(r"^[^\s\"'\[{][^:]*:(\s|$)", rest)
                  or re.match(r"^\"[^\"]*\":(\s|$)", rest)):
                # "- key: value": a mapping whose keys sit two columns further in
                self.lines[self.i] = _Line(line.number, indent + 2, rest)
                out.append(self.mapping(indent + 2))
            else:
                self.i += 1
                out.append(scalar(rest, line.number))
        return out


def loads(source: str) -> object:
    """The document in ``source``; raises :class:`YamlSubsetError` on unsupported YAML."""
    lines = _lines(source)
    if not lines:
        return None
    parser = _Parser(lines)
    value = parser.block(lines[0].indent)
    if parser.i != len(lines):
        line = lines[parser.i]
        raise YamlSubsetError(f"line {line.number}: unexpected {line.text!r}")
    return value

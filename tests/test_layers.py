"""Dependencies point one way: every import in footfall/ obeys the layer order that
docs/architecture.md writes down (its ``footfall-layers`` block is the one source)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "footfall"


def layers() -> list[list[str]]:
    """The block in docs/architecture.md: one layer a line, lowest first; names on one line
    are peers, which must not import each other."""
    text = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    found = re.search(r"```text footfall-layers\n(.*?)```", text, re.S)
    assert found, "docs/architecture.md lost its ```text footfall-layers block"
    return [line.split("#")[0].split() for line in found.group(1).splitlines()
            if line.split("#")[0].strip()]


def unit_of(module: str) -> str:
    """footfall.processing.router → processing; footfall.cli → cli; footfall → __init__."""
    return module.split(".")[1] if module.count(".") >= 1 else "__init__"


UNITS = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir()
         if (p.is_dir() and (p / "__init__.py").exists()) or p.suffix == ".py"}


def imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every footfall import in the file, also inside functions and
    TYPE_CHECKING blocks: a lazy import is still a dependency."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "footfall":  # a subpackage, or a name of the root package
                out += [(node.lineno, f"footfall.{a.name}" if a.name in UNITS else "footfall")
                        for a in node.names]
            elif node.module.startswith("footfall."):
                out.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            out += [(node.lineno, a.name) for a in node.names if a.name.startswith("footfall.")]
    return out


def test_every_package_has_a_layer() -> None:
    placed = {name for layer in layers() for name in layer}
    assert UNITS - placed == set(), "add these to docs/architecture.md's layer block"
    assert placed - UNITS == set(), "the layer block names packages that do not exist"


def test_imports_follow_the_layer_order() -> None:
    rank = {name: i for i, layer in enumerate(layers()) for name in layer}
    wrong = []
    for path in sorted(PACKAGE.rglob("*.py")):
        module = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        mine = unit_of(module)
        for line, target in imports(path):
            theirs = unit_of(target)
            if theirs == mine:
                continue  # its own modules
            if rank[theirs] >= rank[mine]:
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {mine} imports {target} "
                             f"({theirs} is {'a peer' if rank[theirs] == rank[mine] else 'above'})")
    assert wrong == [], "imports against docs/architecture.md's layer order:\n" + \
        "\n".join(wrong)

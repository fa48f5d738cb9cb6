"""What mypyc cannot compile right, kept out of the compiled modules (setup.py ``COMPILED``).

mypyc holds a module's ``Final`` constant in a C static. A ``Final`` tuple with a float in it
compiles, but every read of it raises ``NameError: value for final name ... was not set``
(mypy 1.x's mypyc; checked with a three-line module). In the processor that error is caught
per message and the message skipped, so the build looked healthy: only the real ankle run
read with the default placement showed it (tests/processing/test_realdata.py).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).parents[1]


def compiled_modules() -> list[Path]:
    text = (ROOT / "setup.py").read_text(encoding="utf-8")
    block = text[text.index("COMPILED = ["):]
    block = block[:block.index("]")]
    return [ROOT / p for p in re.findall(r'"(footfall/[^"]+\.py)"', block)]


def _is_final(annotation: ast.expr) -> bool:
    target = annotation.value if isinstance(annotation, ast.Subscript) else annotation
    return isinstance(target, ast.Name) and target.id == "Final"


def _surely_no_float(node: ast.Tuple) -> bool:
    """Every item an int, str, bytes or bool literal: a name or an expression could be a
    float (``(MAX_STRIDE_S, 1)``, ``(1 / 2, 3)``), so it does not pass."""
    return all(isinstance(item, ast.Constant) and not isinstance(item.value, float)
               and isinstance(item.value, int | str | bytes) for item in node.elts)


def test_the_compiled_modules_are_found() -> None:
    modules = compiled_modules()
    assert len(modules) >= 10
    assert all(p.is_file() for p in modules)


def test_no_compiled_module_has_a_final_tuple_that_may_hold_a_float() -> None:
    found = []
    for path in compiled_modules():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.AnnAssign) and _is_final(node.annotation) \
                    and isinstance(node.value, ast.Tuple) \
                    and not _surely_no_float(node.value):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert found == [], (f"Final tuples that may hold a float (split them into one Final "
                         f"each, or drop the Final): {found}")

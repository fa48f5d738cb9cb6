"""Reading a rendered PDF back the way a person (and poppler) sees it: pages as PNG
(pdftoppm), the embedded images (pdfimages), the text (pdftotext)."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from PIL import Image

from tests.conftest import IN_CI

TOOLS = ("pdftoppm", "pdftotext", "pdfimages", "pdfinfo")


def require_poppler() -> None:
    missing = [tool for tool in TOOLS if shutil.which(tool) is None]
    if missing:
        message = f"{', '.join(missing)} missing: scripts/setup installs poppler-utils"
        if IN_CI:
            pytest.fail(f"CI=true and {message}", pytrace=False)
        pytest.skip(message)


def _run(*argv: str) -> str:
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def pages(pdf: Path) -> int:
    found = re.search(r"^Pages:\s+(\d+)", _run("pdfinfo", str(pdf)), re.M)
    assert found, "pdfinfo gives no page count"
    return int(found.group(1))


def text(pdf: Path, page: int | None = None, *, layout: bool = False) -> str:
    """The text, with every kind of space folded to one plain space (pdftotext reads the
    no-break spaces between numbers and units as spaces); ``layout`` keeps a table's row on
    one line."""
    argv = ["pdftotext", "-enc", "UTF-8"] + (["-layout"] if layout else [])
    if page is not None:
        argv += ["-f", str(page), "-l", str(page)]
    raw = _run(*argv, str(pdf), "-")
    return re.sub(r"\s+", " ", raw.replace("\u00a0", " ").replace("\u202f", " ")
                  .replace("\u2009", " "))


@dataclass(frozen=True)
class ImageRow:
    page: int
    kind: str  # image, smask, …
    width: int
    height: int
    color: str
    x_ppi: int


def images(pdf: Path) -> list[ImageRow]:
    """``pdfimages -list``: one row per embedded image."""
    out = []
    for line in _run("pdfimages", "-list", str(pdf)).splitlines()[2:]:
        cols = line.split()
        out.append(ImageRow(int(cols[0]), cols[2], int(cols[3]), int(cols[4]), cols[5],
                            int(cols[12])))
    return out


def extract_images(pdf: Path, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    _run("pdfimages", "-png", str(pdf), str(out_dir / "img"))
    return sorted(out_dir.glob("img-*.png"))


def render_pages(pdf: Path, out_dir: Path, *, gray: bool, dpi: int = 60) -> list[Path]:
    """Each page as a PNG (``pdftoppm``); ``gray`` prints it as a grey-scale printer would."""
    out_dir.mkdir(parents=True, exist_ok=True)
    argv = ["pdftoppm", "-r", str(dpi), "-png"] + (["-gray"] if gray else [])
    _run(*argv, str(pdf), str(out_dir / "page"))
    return sorted(out_dir.glob("page-*.png"))


def ink_share(png: Path) -> float:
    """The share of dark pixels (a blank page has none)."""
    image = Image.open(png).convert("L")
    histogram = image.histogram()
    return sum(histogram[:128]) / (image.width * image.height)

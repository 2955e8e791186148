"""The README's measured figures match the bench/results JSON files that the benchmarks wrote.

Convention: a measured figure is written in bold and followed by a comment naming its
source, ``**0.66 s**<!-- gaps.json:seconds -->``, optionally with a scale
(``<!-- darp.json:cordeau_mean_gap*100 -->`` for a percentage). The first number in
the bold text must equal the JSON value times the scale, rounded to the decimals shown.
Every bold figure in the "Measured numbers" section must carry such a comment.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
FIGURE = re.compile(r"\*\*([^*]+)\*\*(?:<!--\s*([\w.-]+\.json):([\w.-]+?)(?:\*([0-9.e+-]+))?\s*-->)?")
NUMBER = re.compile(r"-?\d{1,3}(?:[ \u202f\u00a0]\d{3})+(?:\.\d+)?|-?\d+(?:\.\d+)?")


def _readme() -> str:
    return (REPO / "README.md").read_text(encoding="utf-8")


def _measured_section(text: str) -> str:
    start = text.index("## Measured numbers")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else None]


def _lookup(document: object, key: str) -> object:
    for part in key.split("."):
        document = document[int(part)] if isinstance(document, list) else document[part]
    return document


def shown_number(text: str) -> tuple[float, int]:
    """The first number in ``text`` and its count of decimals ("3 373×" -> (3373.0, 0))."""
    match = NUMBER.search(text)
    if match is None:
        raise ValueError(f"no number in {text!r}")
    digits = re.sub(r"[ \u202f\u00a0]", "", match.group())
    return float(digits), len(digits.partition(".")[2])


def figures(text: str) -> list[tuple[str, str, str, float]]:
    """(bold text, JSON file, key, scale) for every marked figure in ``text``."""
    return [(bold, file, key, float(scale or 1)) for bold, file, key, scale in FIGURE.findall(text) if file]


def test_shown_number_reads_thousands_and_decimals() -> None:
    assert shown_number("3 373× slower") == (3373.0, 0)
    assert shown_number("0.0095 %") == (0.0095, 4)
    assert shown_number("p95 12.1 ms") == (95.0, 0)


def test_every_measured_figure_names_its_source() -> None:
    unmarked = [bold for bold, file, _, _ in FIGURE.findall(_measured_section(_readme()))
                if not file and NUMBER.search(bold)]
    assert unmarked == [], "bold figures without a <!-- file.json:key --> source"


def mismatches(text: str) -> list[str]:
    """Every marked figure in ``text`` whose number differs from its bench/results value."""
    wrong = []
    for bold, file, key, scale in figures(text):
        path = RESULTS / file
        if not path.exists():
            wrong.append(f"{bold!r}: {file} does not exist")
            continue
        try:
            value = _lookup(json.loads(path.read_text(encoding="utf-8")), key)
        except (KeyError, IndexError, ValueError):
            wrong.append(f"{bold!r}: {file} has no key {key!r}")
            continue
        number, decimals = shown_number(bold)
        expected = round(float(value) * scale, decimals)
        if abs(expected - number) > 10 ** -(decimals + 6):
            wrong.append(f"{bold!r}: {file}:{key} gives {expected}")
    return wrong


def test_readme_figures_match_bench_results() -> None:
    assert figures(_readme()), "the README names no bench/results figure"
    assert mismatches(_readme()) == []


def test_a_stale_figure_is_caught() -> None:
    value = json.loads((RESULTS / "gaps.json").read_text(encoding="utf-8"))["households"]
    assert mismatches(f"**{value:,}**<!-- gaps.json:households -->".replace(",", " ")) == []
    assert len(mismatches(f"**{value + 1}**<!-- gaps.json:households -->")) == 1
    assert len(mismatches("**1 s**<!-- gaps.json:no_such_key -->")) == 1

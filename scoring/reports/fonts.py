"""Fonts for the PDF: a TrueType font that has the report's characters, and a safe fallback for the rest.

PDF's 14 standard fonts only know Latin-1, so the report embeds a TrueType font (subset). The default is
**Bitstream Vera Sans**, which ships inside reportlab (``reportlab/fonts``, Bitstream Vera licence: free to
embed and redistribute): the same output on every machine, and it has the Latin-1 letters (ä ö ü ß é …),
the en and em dashes, ≤ ≥ ≠ ≈ −, × and ·. It lacks arrows and most of Latin Extended-A, Greek and Cyrillic.

``font="auto"`` (the default of :meth:`scoring.reports.Report.to_pdf`) keeps Vera unless some text needs a
letter Vera lacks (a patient label in Polish or Greek, say); then it uses **DejaVu Sans** when the machine
has it (Debian/Ubuntu ``fonts-dejavu-core``, Fedora, Arch, or matplotlib's copy), which covers those
scripts. A symbol a font lacks is written in ASCII (``→`` as ``->``); a letter that no available font has is
written without its accent where Unicode decomposes it (``ą`` → ``a``) and as ``?`` otherwise — never as an
invisible or "tofu" glyph. :attr:`FontChoice.replaced` counts such characters.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

__all__ = ["FontChoice", "choose_font", "dejavu_paths", "vera_paths"]

#: Symbols with a faithful ASCII spelling, used only when the font has no glyph for them.
SYMBOL_FALLBACKS = {
    "→": "->", "←": "<-", "↑": "^", "↓": "v", "⇒": "=>", "↔": "<->",
    "≥": ">=", "≤": "<=", "≠": "!=", "≈": "~", "−": "-", "–": "-", "—": "-", "‑": "-",
    "…": "...", "×": "x", "·": "-", "•": "*", "√": "sqrt", "±": "+/-",
    "“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "‚": ",", "✓": "yes", "✗": "no",
    "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u200b": "",
}

_DEJAVU_DIRS = (
    "/usr/share/fonts/truetype/dejavu",  # Debian, Ubuntu (fonts-dejavu-core)
    "/usr/share/fonts/dejavu",  # Fedora
    "/usr/share/fonts/TTF",  # Arch
    "/usr/local/share/fonts",
    "/usr/share/fonts/dejavu-sans-fonts",
)


@dataclass(frozen=True)
class FontChoice:
    """The TrueType files of the PDF's regular and bold faces, and what they can show."""

    family: str
    regular: Path
    bold: Path
    source: str
    coverage: frozenset[int] = field(repr=False)
    replaced: int = 0

    @property
    def regular_name(self) -> str:
        return f"psyscore-{self.family}"

    @property
    def bold_name(self) -> str:
        return f"psyscore-{self.family}-Bold"

    def clean(self, text: str) -> str:
        """``text`` with every character the font cannot show replaced (see the module's docstring)."""
        return clean_text(text, self.coverage)

    def register(self) -> None:
        """Register both faces with reportlab (idempotent) and join them as a family for ``<b>``."""
        from reportlab.lib.fonts import addMapping
        from reportlab.pdfbase import pdfmetrics
        from reportlab.pdfbase.ttfonts import TTFont

        registered = set(pdfmetrics.getRegisteredFontNames())
        for name, path in ((self.regular_name, self.regular), (self.bold_name, self.bold)):
            if name not in registered:
                pdfmetrics.registerFont(TTFont(name, str(path)))
        mappings: tuple[tuple[Literal[0, 1], Literal[0, 1], str], ...] = (
            (0, 0, self.regular_name), (1, 0, self.bold_name), (0, 1, self.regular_name), (1, 1, self.bold_name))
        for bold, italic, name in mappings:
            addMapping(self.regular_name, bold, italic, name)


def clean_text(text: str, coverage: frozenset[int]) -> str:
    """Replace characters outside ``coverage``: ASCII for symbols, the base letter for accented ones, else ``?``.

    >>> clean_text("a → b ≥ ą", frozenset(map(ord, "ab ≥->")))
    'a -> b ≥ a'
    """
    if all(ord(ch) in coverage or ch in "\n\t" for ch in text):
        return text
    out = []
    for ch in text:
        if ord(ch) in coverage or ch in "\n\t":
            out.append(ch)
        elif ch in SYMBOL_FALLBACKS:
            sub = SYMBOL_FALLBACKS[ch]
            out.append(sub if all(ord(c) in coverage for c in sub) else "?")
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
            out.append(base if base and all(ord(c) in coverage for c in base) else "?")
    return "".join(out)


def _missing(texts: Iterable[str], coverage: frozenset[int]) -> set[str]:
    """Characters that the font lacks and that have no faithful ASCII spelling."""
    chars = set().union(*(set(t) for t in texts)) if texts else set()
    return {ch for ch in chars if ord(ch) not in coverage and ch not in SYMBOL_FALLBACKS and ch not in "\n\t"}


def vera_paths() -> tuple[Path, Path]:
    """Bitstream Vera Sans regular and bold as shipped with reportlab."""
    import reportlab

    folder = Path(reportlab.__file__).resolve().parent / "fonts"
    return folder / "Vera.ttf", folder / "VeraBd.ttf"


def dejavu_paths() -> tuple[Path, Path] | None:
    """DejaVu Sans regular and bold from the system fonts or matplotlib's copy, or None when absent."""
    dirs = [Path(d) for d in _DEJAVU_DIRS]
    windir = os.environ.get("WINDIR")
    if windir:
        dirs.append(Path(windir) / "Fonts")
    spec = importlib.util.find_spec("matplotlib")  # locates the package without importing it
    if spec is not None and spec.submodule_search_locations:
        dirs.extend(Path(p) / "mpl-data" / "fonts" / "ttf" for p in spec.submodule_search_locations)
    for folder in dirs:
        regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
        if regular.is_file():
            return regular, bold if bold.is_file() else regular
    return None


def _coverage(path: Path) -> frozenset[int]:
    from reportlab.pdfbase.ttfonts import TTFontFile

    return frozenset(TTFontFile(str(path)).charToGlyph)


def choose_font(font: str | os.PathLike[str] | tuple[str | os.PathLike[str], str | os.PathLike[str]],
                texts: Iterable[str]) -> FontChoice:
    """Pick the PDF's font for these texts.

    Parameters
    ----------
    font
        ``"auto"`` (Vera, or DejaVu Sans when the texts need letters Vera lacks and DejaVu is installed),
        ``"vera"`` (always the font shipped with reportlab), ``"dejavu"`` (DejaVu Sans; ``FileNotFoundError``
        when absent), a path to a TrueType file, or a pair of paths (regular, bold).
    texts
        Every string the PDF will show (used by ``"auto"`` and to count replaced characters).
    """
    texts = list(texts)
    if isinstance(font, tuple):
        regular, bold = Path(font[0]), Path(font[1])
        family, source = regular.stem, str(regular)
    elif isinstance(font, str) and font in ("auto", "vera", "dejavu"):
        regular, bold = vera_paths()
        family, source = "Vera", "Bitstream Vera Sans (shipped with reportlab)"
        wants_dejavu = font == "dejavu" or (font == "auto" and _missing(texts, _coverage(regular)))
        if wants_dejavu:
            found = dejavu_paths()
            if found is not None:
                regular, bold = found
                family, source = "DejaVuSans", f"DejaVu Sans ({regular})"
            elif font == "dejavu":
                raise FileNotFoundError("DejaVu Sans is not installed (Debian/Ubuntu: apt-get install "
                                        "fonts-dejavu-core); use font='vera' or the path of a TrueType font")
    else:
        regular = Path(font)
        bold = regular
        family, source = regular.stem, str(regular)
    for path in (regular, bold):
        if not path.is_file():
            raise FileNotFoundError(f"font file {path} not found; give the path of a TrueType (.ttf) font")
    coverage = _coverage(regular)
    if bold != regular:
        coverage = coverage & _coverage(bold)
    replaced = sum(1 for t in texts for ch in t if ord(ch) not in coverage and ch not in "\n\t")
    key = hashlib.sha256(f"{regular.resolve()}|{bold.resolve()}".encode()).hexdigest()[:8]
    safe_family = "".join(c if c.isalnum() else "-" for c in family) + "-" + key
    return FontChoice(safe_family, regular, bold, source, coverage, replaced)

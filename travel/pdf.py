"""PDF rendering through xhtml2pdf, with fonts that cover Latin, Polish and CJK.

ReportLab (under xhtml2pdf) needs TrueType outlines and does no per-glyph font fallback, and
no single Debian font with TrueType outlines covers Latin well and CJK at all. So text is
set in DejaVu Sans, and every run of characters DejaVu lacks (CJK, mostly) is wrapped in a
span set in Droid Sans Fallback (Debian `fonts-droid-fallback`; Noto CJK ships CFF outlines,
which ReportLab cannot embed).
"""

from functools import lru_cache
from pathlib import Path
from typing import BinaryIO

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from reportlab.pdfbase.ttfonts import TTFont
from xhtml2pdf import pisa
from xhtml2pdf.config.resources import ResourceAccessPolicy

FONT_FILES = {
    "regular": Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"),
    "bold": Path("/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"),
    "fallback": Path("/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf"),
}
FONT_PACKAGES = {"regular": "fonts-dejavu-core", "bold": "fonts-dejavu-core", "fallback": "fonts-droid-fallback"}


class PdfRenderError(Exception):
    pass


def pdf_font_files() -> dict[str, Path]:
    """The font files, resolved through symlinks (the resource policy checks real paths)."""
    missing = [f"{path} (Debian package {FONT_PACKAGES[key]})" for key, path in FONT_FILES.items() if not path.exists()]
    if missing:
        raise PdfRenderError(f"PDF fonts are missing: {', '.join(missing)}")
    return {key: path.resolve() for key, path in FONT_FILES.items()}


@lru_cache(maxsize=1)
def _main_font_characters() -> frozenset[int]:
    font = TTFont("TravelMainFontProbe", str(pdf_font_files()["regular"]))
    return frozenset(font.face.charToGlyph)


def pdf_markup(text) -> SafeString:
    """Escaped HTML for one piece of text, with runs the main font cannot draw set in the
    fallback font."""
    text = "" if text is None else str(text)
    covered = _main_font_characters()
    pieces = []
    run, run_is_fallback = [], False
    for char in text:
        is_fallback = ord(char) not in covered and not char.isspace()
        if run and is_fallback != run_is_fallback:
            pieces.append(_run_html("".join(run), run_is_fallback))
            run = []
        run.append(char)
        run_is_fallback = is_fallback
    if run:
        pieces.append(_run_html("".join(run), run_is_fallback))
    return mark_safe("".join(pieces))


def _run_html(text: str, is_fallback: bool) -> str:
    return f'<span class="fallback-font">{escape(text)}</span>' if is_fallback else escape(text)


def pdf_render(*, html: str, dest: BinaryIO) -> None:
    """Render HTML to PDF into `dest`. The document may read only the font directories and
    nothing over the network: it carries user-entered text."""
    fonts = pdf_font_files()
    roots = tuple(sorted({path.parent for path in fonts.values()}))
    policy = ResourceAccessPolicy(allow_remote=False, base_dir=roots[0], extra_roots=roots[1:])
    result = pisa.CreatePDF(html, dest=dest, encoding="utf-8", resource_policy=policy)
    if result.err:
        raise PdfRenderError(f"PDF rendering failed with {result.err} error(s)")

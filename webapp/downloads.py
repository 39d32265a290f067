"""Files the app hands out (PDF, XLSX, CSV, DOCX, ZIP, uploads): the one place for their headers.

Every download route ends in `download(data, filename, mimetype)`:

- Content-Disposition as RFC 6266 wants it: `attachment` (or `inline` for what opens in the
  browser) with the name as a quoted `filename="…"`; a name that is not plain ASCII (a site's
  Chinese name, an uploaded file's own name) also goes as `filename*=UTF-8''…` (RFC 5987), which
  every current browser prefers, with a readable ASCII `filename=` for the rest;
- `Cache-Control: no-store`: every download here is for a signed-in user and nearly all carry
  personal data (names, ID numbers, hours, certificates); the rest (a site's poster with its
  check-in code, the roster template, the results report) are the unit's own and lose nothing;
- `X-Content-Type-Options: nosniff` comes with the app-wide security headers
  (webapp.configure_requests), like every other response.

Werkzeug's send_file writes the same two names, but its ASCII fallback keeps what is left of a
Chinese name ("--2026-03-02.pdf", ".pdf") and it leaves the name unquoted; the bytes are in
memory anyway, so a plain Response does. Media types: models.export.MIMETYPES.
"""
from __future__ import annotations

import re
import unicodedata
from urllib.parse import quote

from flask import Response

RFC5987_SAFE = "!#$&+-.^_`|~"  # attr-char besides letters and digits
_UNSAFE_IN_QUOTES = re.compile(r'["\\\x00-\x1f\x7f]')
_SEPARATOR_RUNS = re.compile(r"([-_ ])[-_ ]+")


def ascii_filename(filename: str) -> str:
    """The name for clients that only read `filename=`: accents folded, other letters
    dropped, with the separators they leave tidied ("出缺席-大安-2026-03.pdf" -> "2026-03.pdf",
    "證書.pdf" -> "download.pdf")."""
    folded = unicodedata.normalize("NFKD", filename).encode("ascii", "ignore").decode("ascii")
    folded = _UNSAFE_IN_QUOTES.sub("", folded)
    stem, dot, extension = folded.replace("/", "-").rpartition(".")
    if not dot:
        stem, extension = extension, ""
    stem = _SEPARATOR_RUNS.sub(r"\1", stem).strip("-_ .")
    return (stem or "download") + (f".{extension}" if extension else "")


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """The Content-Disposition value (RFC 6266) for a file called `filename`."""
    fallback = ascii_filename(filename)
    value = f'{"inline" if inline else "attachment"}; filename="{fallback}"'
    if fallback != filename:
        value += f"; filename*=UTF-8''{quote(filename, safe=RFC5987_SAFE)}"
    return value


def download(data: bytes, filename: str, mimetype: str, *, inline: bool = False) -> Response:
    """`data` as a file called `filename`: saved by the browser, or shown in it (inline)."""
    return Response(data, mimetype=mimetype, headers={
        "Content-Disposition": content_disposition(filename, inline=inline),
        "Cache-Control": "no-store",
    })

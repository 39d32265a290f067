"""The user guide (docs/guide/<language>.md), shown in the user's language at /help.

The guide is Markdown written by us, rendered with markdown-it-py (raw HTML off); its screenshots
(docs/guide/img/, taken by tests/browser/test_guide_screenshots.py) are served from this
blueprint's static folder.
"""
from __future__ import annotations

import functools
from pathlib import Path

from flask import Blueprint, render_template, url_for
from flask_babel import get_locale
from markdown_it import MarkdownIt

from ..access import public

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "guide"
FILES = {"zh_Hant_TW": "zh-TW.md", "en": "en.md"}

bp = Blueprint("help", __name__, static_folder=str(GUIDE / "img"), static_url_path="/help/img")


def _cjk(char: str) -> bool:
    return bool(char) and ord(char) >= 0x2E80


@functools.lru_cache(maxsize=4)
def _render(filename: str, img_prefix: str) -> tuple[str, str, list[tuple[str, str]]]:
    """The guide's title, its body as HTML, and its contents (anchor, title of each ## section)."""
    md = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable("table")
    tokens = md.parse((GUIDE / filename).read_text(encoding="utf-8"))
    title = ""
    if len(tokens) >= 3 and tokens[0].type == "heading_open" and tokens[0].tag == "h1":
        title, tokens = tokens[1].content, tokens[3:]  # shown by the page template
    contents = []
    for i, token in enumerate(tokens):
        if token.type == "heading_open" and token.tag == "h2":
            anchor = f"s{len(contents) + 1}"
            token.attrSet("id", anchor)
            contents.append((anchor, tokens[i + 1].content))
        if token.type == "inline":
            children = token.children or []
            for j, child in enumerate(children):
                # a line break inside a Chinese paragraph is no space
                if child.type == "softbreak" and 0 < j < len(children) - 1 \
                        and _cjk(children[j - 1].content[-1:]) and _cjk(children[j + 1].content[:1]):
                    child.type, child.content = "text", ""
                if child.type == "image":
                    src = child.attrGet("src") or ""
                    if src.startswith("img/"):
                        child.attrSet("src", img_prefix + src[4:])
                    child.attrSet("loading", "lazy")
    return title, md.renderer.render(tokens, md.options, {}), contents


@bp.route("/help")
@public
def guide():
    filename = FILES.get(str(get_locale()), FILES["zh_Hant_TW"])
    prefix = url_for("help.static", filename="x")[:-1]
    title, html, contents = _render(filename, prefix)
    return render_template("help/guide.html", title=title, guide=html, contents=contents)

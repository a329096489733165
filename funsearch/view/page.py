"""The one HTML page of the view: hand-written CSS and JavaScript from view/assets/, inline, with a strict
Content-Security-Policy that allows exactly that script and that style block (by their sha256) and nothing
else: no other script, no inline handler, no remote or local fetch but the live server's own /api/ (none at
all in an --html file), no images but data: URIs, no frames, no forms.

The page's text never comes from the data: the server sends the same bytes for every run, and the data arrive
as JSON (fetched, or embedded in an --html file as a non-executable JSON block with <, > and & escaped), which
the script only ever puts into the document as text nodes.
"""
from __future__ import annotations

import base64
import hashlib
from functools import lru_cache
from pathlib import Path

ASSETS = Path(__file__).resolve().parent / "assets"
SCRIPTS = ("core.js", "charts.js", "lineage.js", "detail.js", "run.js", "sweep.js", "app.js")
BASE_POLICY = ("default-src 'none'; script-src {script}; style-src {style}; img-src data:; font-src 'none'; "
               "connect-src {connect}; base-uri 'none'; form-action 'none'; object-src 'none'; frame-src 'none'; "
               "worker-src 'none'; manifest-src 'none'; media-src 'none'")


@lru_cache(maxsize=1)
def _assets() -> tuple[str, str]:
    script = "(function () {\n" + "\n".join((ASSETS / name).read_text() for name in SCRIPTS) + "\n})();\n"
    style = (ASSETS / "view.css").read_text()
    return script, style


def _sha(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def policy(live: bool) -> str:
    """The Content-Security-Policy: the live page may fetch its own server, an --html file nothing."""
    script, style = _assets()
    text = BASE_POLICY.format(script=_sha(script), style=_sha(style), connect="'self'" if live else "'none'")
    return text + ("; frame-ancestors 'none'" if live else "")


def embed_json(text: str) -> str:
    """JSON text made safe inside a <script type="application/json"> block: no <, > or & survive, so nothing
    in it can close the block or open a comment."""
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e") \
        .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


def render(data_json: str | None = None) -> str:
    """The page. Live (data_json None): the policy comes as a header. With data (an --html file): the policy is a
    <meta> element before anything else, and the answers are embedded."""
    script, style = _assets()
    head = ['<!doctype html>', '<html lang="en">', '<head>', '<meta charset="utf-8">']
    if data_json is not None:
        head.append(f'<meta http-equiv="Content-Security-Policy" content="{policy(live=False)}">')
    head += ['<meta name="referrer" content="no-referrer">',
             '<meta name="viewport" content="width=device-width, initial-scale=1">',
             '<link rel="icon" href="data:,">', '<title>funsearch view</title>',
             f'<style>{style}</style>', '</head>', '<body data-ready="0">',
             '<div id="app"><p class="note">loading…</p></div>']
    if data_json is not None:
        head.append(f'<script type="application/json" id="fs-data">{embed_json(data_json)}</script>')
    head += [f'<script>{script}</script>', '</body>', '</html>']
    return "\n".join(head) + "\n"

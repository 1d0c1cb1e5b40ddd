"""Small server-rendered pages for people following a link from a text or an email (no JavaScript).

Every page reads well on a phone; callers escape what they put in the body (html.escape).
"""

from __future__ import annotations

from html import escape

CONTENT_TYPE = "text/html"  # the Functions response adds "; charset=utf-8"
# A page reached through a secret link: never cached, and the link never leaks to another site as a Referer.
HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
BASE_STYLE = (
    "body{font:16px/1.5 system-ui,sans-serif;margin:0;padding:16px;max-width:640px;margin:auto;color:#111}"
    "h1{font-size:1.4em}label{display:block;padding:10px 0;font-size:1.1em}"
    "input[type=password],input[type=text],textarea{display:block;width:100%;box-sizing:border-box;padding:12px;"
    "font-size:1.1em;border:1px solid #999;border-radius:8px}"
    "input[type=radio],input[type=checkbox]{width:24px;height:24px;vertical-align:middle;margin-right:8px}"
    "fieldset{border:1px solid #ccc;border-radius:8px;margin:12px 0;padding:12px}legend{font-weight:600}"
    "button{width:100%;padding:14px;font-size:1.1em;border-radius:8px;border:0;background:#0b5;color:#fff}"
    ".error{color:#a00}"
)


def page(title: str, body: str, *, style: str = "") -> str:
    """A whole HTML document: the escaped title, the base style plus style, and body as given."""
    head = (
        '<meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{BASE_STYLE}{style}</style>"
    )
    return f'<!doctype html><html lang="en"><head>{head}</head><body>{body}</body></html>'


def notice_page(title: str, message: str, *, style: str = "") -> str:
    """A plain page with one escaped message (a refused or expired link, a finished step)."""
    return page(title, f"<h1>{escape(title)}</h1><p>{escape(message)}</p>", style=style)

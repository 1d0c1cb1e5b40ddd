"""X-Twilio-Signature: base64 HMAC-SHA1 of the URL Twilio requested plus the sorted POST parameters.

Azure's front end rewrites host and scheme, so the URL is rebuilt from PUBLIC_BASE_URL and the path and
query the request arrived with. Twilio's own validator also accepts the URL with the default port added
or removed; so does this one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

HEADER = "X-Twilio-Signature"


def compute(auth_token: str, url: str, params: Iterable[tuple[str, str]]) -> str:
    """The signature Twilio sends for a POST of params to url."""
    message = url + "".join(name + value for name, value in sorted(params))
    digest = hmac.new(auth_token.encode(), message.encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _port_variants(url: str) -> list[str]:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname or ""
    if parts.port is None:
        return [url, urlunsplit(parts._replace(netloc=f"{host}:{default}"))]
    if parts.port == default:
        return [url, urlunsplit(parts._replace(netloc=host))]
    return [url]


def is_valid(auth_token: str, url: str, params: Iterable[tuple[str, str]], signature: str | None) -> bool:
    """Whether signature is Twilio's for this URL and parameters (constant-time comparison)."""
    if not auth_token or not signature:
        return False
    pairs = list(params)
    return any(
        hmac.compare_digest(compute(auth_token, candidate, pairs), signature) for candidate in _port_variants(url)
    )


def public_url(public_base_url: str, requested_url: str) -> str:
    """The URL Twilio signed: the configured public base plus the path and query of the request."""
    parts = urlsplit(requested_url)
    tail = parts.path + (f"?{parts.query}" if parts.query else "")
    return public_base_url.rstrip("/") + tail

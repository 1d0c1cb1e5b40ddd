"""Gemini image editing through the `google-genai` SDK (models.generateContent with an image in, an image out).

Interface agreed between the colour-preview pipeline (blueprints/estimates) and this adapter (issue 14); the
adapter's body lands with the fake Gemini server in tests/fakes/gemini.py. `gemini()` answers None without
GEMINI_API_KEY, and callers then use the local recolouring provider.
"""

from __future__ import annotations

from dataclasses import dataclass


class ImageError(Exception):
    """No usable image came back. `code`: no_image | safety | rate_limited | server | connection | refused.

    `transient` says whether trying again later may work; `retry_after` is the wait the service asked for.
    """

    def __init__(
        self,
        *,
        code: str,
        detail: str,
        transient: bool,
        retry_after: float | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail[:500]
        self.transient = transient
        self.retry_after = retry_after
        self.request_id = request_id


@dataclass(frozen=True)
class EditedImage:
    """The image part of the answer, the model that made it, the call's response id and how many attempts it took."""

    data: bytes
    mime_type: str
    model: str
    request_id: str | None
    attempts: int
    cost_units: int = 1


class GeminiImage:
    """A generateContent client that sends one image with a prompt and returns the image part of the answer."""

    def edit(self, *, image: bytes, mime_type: str, prompt: str) -> EditedImage:
        """Send the image and the prompt; the first inline image of the first candidate, or ImageError."""
        raise NotImplementedError


def gemini() -> GeminiImage | None:
    """The configured client, or None without GEMINI_API_KEY (callers use the local recolouring provider)."""
    return None

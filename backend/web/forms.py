"""Small pieces every HTML form handler uses."""
from __future__ import annotations

from typing import Annotated

from litestar.enums import RequestEncodingType
from litestar.params import Body

# A URL-encoded HTML form as a plain dict; each handler validates what it reads.
Form = Annotated[dict[str, str], Body(media_type=RequestEncodingType.URL_ENCODED)]


def form_int(value: str | None) -> int:
    """An integer field (a version counter, say); anything else reads as 0, which no row has."""
    try:
        return int(value or 0)
    except ValueError:
        return 0


def safe_next(target: str | None) -> str:
    """Where to go after sign-in: a path on this site only, never another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"

"""A part of a page rendered once for the exact data it shows.

A scorecard's tiles (their trend charts, numbers written in the reader's language) cost more to
render than the query that reads them. The query still runs on every request. A part is kept
under what it is for (the page, the language, the time zone, the reader's role…) with the rows it
was rendered from, and shown again only when this request's rows are equal to those, value by
value: new rows are rendered and replace them, so a part is never shown stale. Rows are compared,
not hashed (hashing a scorecard's decimals took longer than comparing them); the least recently
used parts are dropped beyond a fixed number.
"""
from __future__ import annotations

import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence

from markupsafe import Markup

from backend.config import settings


class Fragments:
    """Rendered parts, each under its key with the rows it shows; the `size` most recently used."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._parts: OrderedDict[Hashable, tuple[Sequence, Markup]] = OrderedDict()
        _ALL.add(self)

    def get(self, key: Hashable, rows: Sequence, render: Callable[[], str]) -> Markup:
        """The part kept under `key` when it was rendered from rows equal to `rows`, else `render()`'s.
        In development every part is rendered again: an edited template shows on the next request."""
        if settings().dev_mode:
            return Markup(render())
        kept = self._parts.get(key)
        if kept is not None and kept[0] == rows:
            self._parts.move_to_end(key)
            return kept[1]
        part = Markup(render())
        self._parts[key] = (rows, part)
        self._parts.move_to_end(key)
        if len(self._parts) > self.size:
            self._parts.popitem(last=False)
        return part

    def clear(self) -> None:
        self._parts.clear()


_ALL: weakref.WeakSet[Fragments] = weakref.WeakSet()


def clear_all() -> None:
    """Forget every kept part (a test starts from a new database)."""
    for fragments in list(_ALL):
        fragments.clear()

"""A part of a page rendered once for the exact data it shows.

A scorecard's tiles (their trend charts, numbers written in the reader's language) cost more to
render than the query that reads them. The query still runs on every request; its rows, with
everything else the part shows (language, time zone, the reader's role…), are the key under which
the part's HTML is kept. New rows are a new key, so a part is never shown stale; the least used
parts are dropped beyond a fixed number. Keys are compared whole, never by a hash alone.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable

from markupsafe import Markup


class Fragments:
    """Rendered parts under their keys, the `size` most recently used of them."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._parts: OrderedDict[Hashable, Markup] = OrderedDict()

    def get(self, key: Hashable, render: Callable[[], str]) -> Markup:
        """The part kept under `key`, else `render()`'s, kept."""
        part = self._parts.get(key)
        if part is not None:
            self._parts.move_to_end(key)
            return part
        part = self._parts[key] = Markup(render())
        if len(self._parts) > self.size:
            self._parts.popitem(last=False)
        return part

    def clear(self) -> None:
        self._parts.clear()

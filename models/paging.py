"""A long list shown a page at a time (by LIMIT/OFFSET after a COUNT): which page, how many,
the previous and the next one. The directory and the issued hour slips page this way; the
page links are webapp/templates/_pager.html."""
from __future__ import annotations

from dataclasses import dataclass, field

PAGE_SIZE = 50


def page_count(total: int, per_page: int = PAGE_SIZE) -> int:
    """Pages of `per_page` rows for `total` rows; an empty list is one (empty) page."""
    return max(1, -(-total // per_page))


def nearest_page(page: int, total: int, per_page: int = PAGE_SIZE) -> int:
    """A page before the first or after the last is the first or the last."""
    return min(max(page, 1), page_count(total, per_page))


@dataclass
class Page:
    """One page of a list: its rows, the number of matching rows, and which page (1-based,
    within 1..pages) it is."""
    rows: list = field(default_factory=list)
    total: int = 0
    page: int = 1
    per_page: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return page_count(self.total, self.per_page)

    @property
    def first(self) -> int:
        """The position of the page's first row among all matches (0 when there are none)."""
        return (self.page - 1) * self.per_page + 1 if self.rows else 0

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0

    @property
    def previous(self) -> int | None:
        return self.page - 1 if self.page > 1 else None

    @property
    def next(self) -> int | None:
        return self.page + 1 if self.page < self.pages else None

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

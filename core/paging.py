"""Pages of long, permission-filtered lists without counting them to the end.

Django's Paginator runs two statements per page: a COUNT over every matching row and the
page itself. Under the permission filter each of them collects the user's grants first
(58,000 rows for a data scientist whose team owns 25,000 models), so the count and the
page together cost three to ten times the page alone, and the exact total ("25,778
models") is not something anyone reads.

CappedPaginator reads the list's ids once, in order, up to one past a cap: that one index
walk gives the count, exact up to the cap ("More than 1,000 models" above it), and the
ids of every page within it. A page beyond the cap reads only its own ids (with one more,
to know whether a next page exists). Then only the page's rows are loaded, by id, through
`load_rows` (which must apply the permission filter again: every query is filtered).
"""

import math

from django.utils.functional import cached_property


class CappedPaginator:
    """Paginates `queryset` (filtered and ordered; only its primary keys are read).

    `count` and `num_pages` are None while the list is known to hold more than `cap`
    rows; `count_at_least` is then `cap + 1`."""

    def __init__(self, queryset, per_page: int, *, load_rows, cap: int):
        if per_page < 1 or cap < 1:
            raise ValueError("per_page and cap must be positive")
        self.ids_query = queryset.values_list("pk", flat=True)
        self.per_page = per_page
        self.cap = cap
        self.load_rows = load_rows
        self._exact_count = None

    @cached_property
    def _window(self) -> list:
        """The first cap + 1 ids, in list order: the count up to the cap, and the pages."""
        return list(self.ids_query[: self.cap + 1])

    @property
    def count(self) -> int | None:
        if self._exact_count is not None:
            return self._exact_count
        if "_window" in self.__dict__ and len(self._window) <= self.cap:
            return len(self._window)
        return None

    @property
    def count_at_least(self) -> int:
        return self.count if self.count is not None else self.cap + 1

    @property
    def num_pages(self) -> int | None:
        if self.count is None:
            return None
        return max(1, math.ceil(self.count / self.per_page))

    def get_page(self, number) -> "CappedPage":
        """The page `number` (1 for anything that is not a positive integer; the last page
        for a number past the end)."""
        number = _page_number(number)
        offset = (number - 1) * self.per_page
        end = offset + self.per_page
        if offset < self.cap and (end < len(self._window) or len(self._window) <= self.cap):
            # Within the window, or the window is the whole list.
            ids = self._window
            if offset >= len(ids) and number > 1:
                return self.get_page(max(1, math.ceil(len(ids) / self.per_page)))
            page_ids, has_next = ids[offset:end], len(ids) > end
        else:  # past the cap, or a page straddling it: its own ids, and one more
            chunk = list(self.ids_query[offset : offset + self.per_page + 1])
            if not chunk:
                return self._last_page()
            page_ids, has_next = chunk[: self.per_page], len(chunk) > self.per_page
        return CappedPage(self._rows(page_ids), number, self, has_next=has_next)

    def _last_page(self) -> "CappedPage":
        """A number past the end of a list longer than the cap: the only time the full
        count is needed, to find the last page."""
        self._exact_count = self.ids_query.count()
        last = self.num_pages
        offset = (last - 1) * self.per_page
        page_ids = list(self.ids_query[offset : offset + self.per_page])
        return CappedPage(self._rows(page_ids), last, self, has_next=False)

    def _rows(self, ids: list) -> list:
        """The rows of `ids` in list order; a row gone since its id was read (deleted, or
        no longer visible) is left out."""
        if not ids:
            return []
        by_id = {row.pk: row for row in self.load_rows(ids)}
        return [by_id[pk] for pk in ids if pk in by_id]


class CappedPage:
    """One page, with the parts of Django's Page the templates use."""

    def __init__(self, object_list: list, number: int, paginator: CappedPaginator, *, has_next):
        self.object_list = object_list
        self.number = number
        self.paginator = paginator
        self._has_next = has_next

    def __iter__(self):
        return iter(self.object_list)

    def __len__(self):
        return len(self.object_list)

    def has_next(self) -> bool:
        return self._has_next

    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_next() or self.has_previous()

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1

    def start_index(self) -> int:
        return (self.number - 1) * self.paginator.per_page + 1 if self.object_list else 0

    def end_index(self) -> int:
        return self.start_index() + len(self.object_list) - 1 if self.object_list else 0


MAX_PAGE_NUMBER = 10_000_000  # beyond any list; keeps OFFSET inside the database's integers


def _page_number(value) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):
        return 1
    return min(number, MAX_PAGE_NUMBER) if number >= 1 else 1

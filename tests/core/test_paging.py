"""The model list counts up to a cap, then pages on without a total (core.paging)."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.paging import CappedPaginator
from governance import access
from registry import selectors
from registry.models import RegisteredModel
from tests.conftest import client_for
from tests.factories import make_model, make_user

NAMES = [f"model-{i:02d}" for i in range(11)]


@pytest.fixture
def eleven(scientist, team, other_scientist):
    """Eleven models the scientist sees, and two they do not, between them in name order."""
    for name in NAMES:  # ten "alpha" models, then one "omega"
        word = "omega" if name == NAMES[-1] else "alpha"
        make_model(scientist, name=name, team=team, description=f"An {word} model")
    for name in ("model-03x", "model-07x"):
        make_model(other_scientist, name=name)
    return NAMES


@pytest.fixture
def small_pages(settings):
    settings.ATTEST_PAGE_SIZE = 3
    settings.ATTEST_LIST_COUNT_CAP = 7


def _paginator(user, per_page=3, cap=7):
    return CappedPaginator(
        selectors.model_search(user, sort="name"),
        per_page,
        load_rows=lambda ids: selectors.model_rows(user, ids),
        cap=cap,
    )


def _names(page):
    return [m.name for m in page.object_list]


def test_pages_within_the_cap_know_the_count(scientist, eleven):
    paginator = _paginator(scientist, cap=20)
    first = paginator.get_page(1)
    assert _names(first) == NAMES[:3]
    assert paginator.count == 11 and paginator.num_pages == 4
    last = paginator.get_page(4)
    assert _names(last) == NAMES[9:]
    assert last.has_previous() and not last.has_next()
    assert (last.start_index(), last.end_index()) == (10, 11)


def test_past_the_cap_the_count_is_unknown_and_pages_go_on(scientist, eleven):
    paginator = _paginator(scientist, cap=7)
    first = paginator.get_page(1)
    assert paginator.count is None and paginator.num_pages is None
    assert paginator.count_at_least == 8
    assert first.has_next() and not first.has_previous()
    # Every page, inside and past the cap, in list order and nothing twice.
    seen, number = [], 1
    while True:
        page = paginator.get_page(number)
        seen += _names(page)
        if not page.has_next():
            break
        number = page.next_page_number()
    assert seen == NAMES
    assert number == 4


def test_a_page_past_the_cap_reads_only_its_own_ids(scientist, eleven):
    paginator = _paginator(scientist, cap=4)
    with CaptureQueriesContext(connection) as ctx:
        page = paginator.get_page(3)  # rows 7 to 9: past the cap of 4
    assert _names(page) == NAMES[6:9] and page.has_next()
    assert not any("COUNT(" in q["sql"].upper() for q in ctx.captured_queries)
    assert "_window" not in paginator.__dict__  # the first cap + 1 ids were not read


@pytest.mark.parametrize("number", [5, 99, 10**30])
def test_a_number_past_the_end_gives_the_last_page(scientist, eleven, number):
    for cap in (4, 20):  # the end past the cap (counted then), and within it
        paginator = _paginator(scientist, cap=cap)
        page = paginator.get_page(number)
        assert page.number == 4 and _names(page) == NAMES[9:]
        assert paginator.count == 11


@pytest.mark.parametrize("number", [None, "", "abc", "0", "-3", "2.5"])
def test_a_number_that_is_not_a_page_gives_the_first(scientist, eleven, number):
    assert _names(_paginator(scientist).get_page(number)) == NAMES[:3]


def test_an_empty_list(scientist):
    paginator = _paginator(scientist)
    page = paginator.get_page(3)
    assert page.number == 1 and list(page) == [] and paginator.count == 0
    assert not page.has_other_pages() and page.start_index() == 0


def test_rows_the_user_lost_between_the_two_reads_are_left_out(scientist, eleven):
    """The rows are loaded through the permission filter again."""
    reader = make_user("rhea", access.ROLE_DATA_SCIENTISTS)
    models = RegisteredModel.objects.filter(name__in=NAMES[:3])
    for m in models:
        access.grant(m, "view", user=reader)

    def revoke_then_load(ids):
        access.revoke(RegisteredModel.objects.get(name=NAMES[1]), "view", user=reader)
        return selectors.model_rows(reader, ids)

    paginator = CappedPaginator(
        selectors.model_search(reader, sort="name"), 3, load_rows=revoke_then_load, cap=7
    )
    assert _names(paginator.get_page(1)) == [NAMES[0], NAMES[2]]


def test_list_page_says_more_than_the_cap(scientist, eleven, small_pages):
    client = client_for(scientist)
    body = client.get("/models/?sort=name").content.decode()
    assert "More than 7 models" in body
    assert "Page 1<" in body and "Page 1 of" not in body
    assert 'rel="next"' in body and 'rel="prev"' not in body
    body = client.get("/models/?sort=name&page=4").content.decode()
    assert re.findall(r"<strong>(model-\d+)</strong>", body) == NAMES[9:]
    assert 'rel="prev"' in body and 'rel="next"' not in body
    assert "More than 7 models" in body


def test_list_page_counts_exactly_within_the_cap(scientist, eleven, small_pages):
    client = client_for(scientist)
    body = client.get("/models/?q=alpha").content.decode()  # ten of the eleven
    assert "More than 7 models matching “alpha”" in body
    body = client.get("/models/?q=omega").content.decode()
    assert "1 model matching “omega”" in body
    body = client.get("/models/?sort=name&page=2", HTTP_HX_REQUEST="true").content.decode()
    assert re.findall(r"<strong>(model-\d+)</strong>", body) == NAMES[3:6]


def test_list_page_runs_no_count(scientist, eleven, small_pages):
    client = client_for(scientist)
    client.get("/models/")
    for url in ("/models/", "/models/?page=3", "/models/?q=model&stage=None"):
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        model_counts = [
            q["sql"]
            for q in ctx.captured_queries
            if re.search(r'COUNT\(\*\).*? FROM "registry_registeredmodel" ', q["sql"])
        ]
        assert model_counts == [], url

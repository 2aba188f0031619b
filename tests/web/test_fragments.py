"""Parts of pages rendered once for the exact data they show: the scorecard's tiles and the deviations
list's rows. New data, another language, another reader's role or form token is another part; the
least used parts go first."""
import re
from datetime import date
from decimal import Decimal

from backend.web.fragments import Fragments
from tests.disputes.conftest import agreement, sign  # noqa: F401 (a fixture)
from tests.disputes.test_lists import bulk
from tests.operations.test_scorecard_periods import value

ANA, BRAM, EVA = "ana@lacteos.example", "bram@envases.example", "eva@envases.example"
KPIS = [{"id": "m", "metric": "otif", "measured_party": "supplier", "target": "96", "warning": "93", "weight": "100"}]


def test_a_part_is_rendered_again_for_other_rows_and_the_least_used_go_first():
    renders = []

    def render(text):
        def run():
            renders.append(text)
            return text
        return run

    parts = Fragments(2)
    rows = [(1, Decimal("95.5"))]
    assert parts.get("a", rows, render("<b>A</b>")) == "<b>A</b>"
    # rows equal value by value (read again by another request): kept, not rendered again
    assert parts.get("a", [(1, Decimal("95.5"))], render("other")) == "<b>A</b>"
    # other rows under the same key: rendered again, and these rows are the ones kept
    assert parts.get("a", [(1, Decimal("96"))], render("A new")) == "A new"
    assert parts.get("a", [(1, Decimal("96"))], render("other")) == "A new"
    assert parts.get("a", rows, render("A old")) == "A old"
    parts.get("b", rows, render("B"))
    parts.get("a", rows, render("other"))  # "a" used last: "b" is now the least used
    parts.get("c", rows, render("C"))  # a third part: "b" goes
    assert parts.get("a", rows, render("other")) == "A old"
    assert parts.get("b", rows, render("B again")) == "B again"
    assert renders == ["<b>A</b>", "A new", "A old", "B", "C", "B again"]
    # what is kept is HTML already: a template prints it as it is
    assert parts.get("b", rows, render("nothing")).__html__() == "B again"


def _tile(page) -> str:
    return page.text.split('id="kpi-otif"')[1].split("</article>")[0]


def _csrf(page) -> str:
    return re.search(r'name="csrf-token" content="([^"]+)"', page.text).group(1)


async def test_the_scorecard_shows_the_rows_of_each_request_to_each_reader(app, demo, owner, browser):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    await sign(owner, rel, {"kpis": KPIS}, number=2, effective="2026-02-01")
    await value(owner, rel, "otif", "month", date(2026, 11, 1), 1, 2)
    url = f"/relationships/{rel}/scorecard?period=2026-11"
    ana, bram, eva = await browser(ANA), await browser(BRAM), await browser(EVA)
    assert "50.00 %" in _tile(await ana.get(url))

    # a recomputed value shows on the next page, never the page kept for the old one
    await owner.execute("UPDATE kpi_value SET numerator = 3, denominator = 4, value = 75 WHERE relationship = $1", rel)
    page = _tile(await ana.get(url))
    assert "75.00 %" in page and "50.00 %" not in page
    # the same rows in each reader's language
    assert "75,00 %" in _tile(await eva.get(url))
    assert "75.00 %" in _tile(await bram.get(url))

    # a closed period: each admin's reopen form carries that admin's own token; a member has no form
    await owner.execute("UPDATE kpi_value SET frozen_at = now() WHERE relationship = $1", rel)
    for admin in (ana, bram, ana):
        page = await admin.get(url)
        forms = re.findall(r'name="_csrf_token" value="([^"]+)"', _tile(page))
        assert forms == [_csrf(page)]
    assert _csrf(await ana.get(url)) != _csrf(await bram.get(url))
    assert "/scorecard/reopen" not in (await eva.get(url)).text
    assert "/scorecard/reopen" in (await bram.get(url)).text

    # a refused reopen shows its reader's error in the tile, and only on that answer
    refused = await ana.post(f"/relationships/{rel}/scorecard/reopen", {
        "kind": "month", "start": "2026-11-01", "party": "supplier", "period": "2026-11", "tile": "m", "reason": ""})
    assert refused.status_code == 422 and 'id="reason-e-m"' in _tile(refused)
    assert 'id="reason-e-m"' not in _tile(await ana.get(url))


def _rows(page) -> str:
    return page.text.split("<tbody>")[1].split("</tbody>")[0]


async def test_the_deviations_list_shows_the_rows_of_each_request(app, demo, agreement, owner, browser):
    rel = agreement["relationship"]
    await bulk(owner, rel, 3)
    url = f"/relationships/{rel}/deviations"
    ana, eva = await browser(ANA), await browser(EVA)
    first = _rows(await ana.get(url))
    assert first.count('href="/deviations/') == 3
    await owner.execute("UPDATE deviation SET status = 'settled', waiting_for = '', due_at = NULL WHERE relationship = $1",
                        rel)
    page = _rows(await ana.get(url))
    assert page.count("Settled") == 3 and first.count("Settled") < 3
    # the same rows for a colleague who reads Spanish
    carlos = await browser("carlos@lacteos.example")
    spanish = _rows(await carlos.get(url))
    assert spanish.count("Resuelta por acuerdo") == 3 and "Settled" not in spanish
    # a clock's text moves with time, and the row with it
    await owner.execute("UPDATE deviation SET status = 'open', waiting_for = 'supplier',"
                        " due_at = now() + interval '20 days' WHERE relationship = $1 AND number = 2", rel)
    assert "business days left" in _rows(await ana.get(url))
    await owner.execute("UPDATE deviation SET due_at = now() - interval '20 days' WHERE relationship = $1", rel)
    page = _rows(await ana.get(url))
    assert "Overdue" in page and "business days left" not in page
    # the other side, in Spanish, reads its own words for the same rows
    spanish = _rows(await eva.get(url))
    assert "Plazo vencido" in spanish and "Overdue" not in spanish


def _header(page) -> str:
    return page.text.split('<nav class="tabs"')[0].split("<main")[-1]


async def test_the_relationship_header_follows_its_relationship_its_reader_and_the_tab(app, demo, owner, browser):
    rel = demo["relationships"]["Yoghurt cups and lids"]
    url = f"/relationships/{rel}/deviations"
    ana, carlos, bram = (await browser(ANA), await browser("carlos@lacteos.example"), await browser(BRAM))
    first = await ana.get(url)
    assert "Yoghurt cups and lids" in _header(first) and "You are the client" in _header(first)
    assert f'href="/relationships/{rel}/deviations" aria-current="page"' in first.text
    # each change shows on the same reader's next page: a new name, a new status …
    await owner.execute("UPDATE relationship SET name = 'Cups, lids and labels' WHERE id = $1", rel)
    renamed = _header(await ana.get(url))
    assert "Cups, lids and labels" in renamed and "Yoghurt cups and lids" not in renamed
    await owner.execute("UPDATE relationship SET status = 'suspended' WHERE id = $1", rel)
    assert "badge-warn" in _header(await ana.get(url))
    # … another language …
    assert (await ana.post("/language", {"locale": "es", "next": "/"})).status_code == 302
    spanish = _header(await ana.get(url))
    assert "Eres el cliente" in spanish and "You are" not in spanish
    # … another tab …
    scorecard = await ana.get(f"/relationships/{rel}/scorecard")
    assert f'href="/relationships/{rel}/scorecard" aria-current="page"' in scorecard.text
    assert f'href="/relationships/{rel}/deviations" aria-current="page"' not in scorecard.text
    # … a new role
    before = _header(await carlos.get(url))
    await owner.execute("UPDATE relationship_member SET role = 'contributor' WHERE relationship = $1 AND \"user\" = $2",
                        rel, demo["users"]["carlos@lacteos.example"])
    after = _header(await carlos.get(url))
    assert after != before and "Colaborador" in after
    # the other side reads its own
    assert "You are the supplier" in _header(await bram.get(url))


def test_in_development_an_edited_template_shows_on_the_next_request(monkeypatch):
    from backend import config

    monkeypatch.setenv("PACTO_DEV", "1")
    config.reset()
    try:
        parts = Fragments(4)
        assert parts.get("a", [1], lambda: "before the edit") == "before the edit"
        assert parts.get("a", [1], lambda: "after the edit") == "after the edit"
    finally:
        monkeypatch.delenv("PACTO_DEV")
        config.reset()
    assert not config.settings().dev_mode

"""Done-when: browser tests in a real Chromium (Debian's ``/usr/bin/chromium``, driven by
Playwright's Python package; no browser is ever downloaded).

Statistician: log in, create a trial, enter three cohorts, see the recommendation and the
escalation plot, record a decision, export (JSON and SDTM).  Viewer: sees the same trial and
cannot change anything (no forms; a hand-made request is refused; the database is unchanged).
Skipped with a printed reason when Chromium is missing, except under CI (then it fails).
"""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from serve_helpers import IN_CI, PASSWORD, add_users, start_server, stop_server

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
NAME = '<script>alert("x")</script> IL-2 BOIN'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.path.exists(CHROMIUM):
        reason = f"{CHROMIUM} missing (make test installs Debian's chromium as root)"
        if IN_CI:
            pytest.fail(f"browser tests must run in CI: {reason}")
        print(f"SKIP browser tests: {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    url = f"sqlite:///{tmp_path_factory.mktemp('browser') / 'b.db'}"
    add_users(url, ("stat", "statistician"), ("view", "viewer"))
    proc, base = start_server(url)
    yield base, url
    stop_server(proc)


def _page(browser: Any, base: str, user: str, errors: list[str]) -> Any:
    ctx = browser.new_context(base_url=base, accept_downloads=True)
    page = ctx.new_page()
    page.on("dialog", lambda d: (errors.append(f"dialog: {d.message}"), d.dismiss()))
    page.on("pageerror", lambda e: errors.append(f"page error: {e}"))
    page.goto("/login")
    page.fill("#username", user)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_url("**/trials")
    return page


def _trial_by_api(base: str) -> str:
    """A trial with three cohorts, made by the statistician through the JSON API."""
    import httpx

    with httpx.Client(base_url=base, timeout=30) as c:
        h = {"X-CSRF-Token": c.post("/api/login", json={"username": "stat", "password": PASSWORD})
             .json()["csrf_token"]}  # fmt: skip
        tid = c.post("/api/trials", headers=h, json={
            "name": NAME, "design": "boin", "target": 0.25, "doses": [0.4, 0.6, 0.8, 1.0, 1.25],
            "max_cohorts": 10}).json()["id"]  # fmt: skip
        for level, letters in ((1, "NNN"), (2, "NNN"), (3, "NTT")):
            r = c.post(f"/api/trials/{tid}/cohorts", headers=h,
                       json={"dose_level": level, "outcomes": letters})  # fmt: skip
            assert r.status_code == 201, r.text
    return str(tid)


def _api_state(page: Any, tid: str) -> Any:
    return page.request.get(f"/api/trials/{tid}").json()


def test_statistician_flow(browser: Any, server: tuple[str, str], tmp_path: Path) -> None:
    base, _ = server
    errors: list[str] = []
    page = _page(browser, base, "stat", errors)
    assert page.text_content("#who") == "stat (statistician)"
    page.fill("#name", NAME)
    page.select_option("#design", "boin")
    page.fill("#doses", "0.4,0.6,0.8,1.0,1.25")
    page.fill("#regimen", "{dose} sc qd x90")
    page.fill("#target", "0.25")
    page.fill("#cohort_size", "3")
    page.fill("#max_cohorts", "10")
    page.click("#create")
    page.wait_for_url("**/trials/*")
    tid = page.url.rsplit("/", 1)[1]
    assert page.text_content("#trial-name") == NAME  # shown as text, not run
    # three cohorts at the recommended level (the form preselects it)
    for letters in ("NNN", "NNN", "NTT"):
        expected_level = page.input_value("#dose-level")
        page.fill("#outcomes", letters)
        page.click("#enter-cohort")
        page.wait_for_load_state()
        state = _api_state(page, tid)
        assert state["cohorts"][-1]["dose_level"] == int(expected_level)
        rec = state["recommendation"]
        assert page.text_content("#rec-next") == str(rec["next_dose"])
        assert page.text_content("#rec-reason") == rec["reason"]
    assert len(page.query_selector_all("#cohorts tbody tr")) == 3
    # the escalation plot is there and has been drawn
    img = page.wait_for_selector("#escalation-plot")
    page.wait_for_function("document.getElementById('escalation-plot').complete")
    assert page.evaluate("document.getElementById('escalation-plot').naturalWidth") > 100
    assert img.get_attribute("src").startswith(f"/trials/{tid}/plot.svg")
    assert page.query_selector("#paths") is not None
    # record a decision: override with a reason (script in it, shown escaped)
    page.check("#override")
    page.select_option("#next-dose", "1")
    page.fill("#reason", "<b>two DLTs</b>: stay one level lower")
    page.click("#record-decision")
    page.wait_for_load_state()
    cell = page.text_content("#cohorts tbody tr:last-child td.decision")
    assert "override" in cell and "<b>two DLTs</b>" in cell
    state = _api_state(page, tid)
    assert state["cohorts"][-1]["decision"]["next_dose"] == 1 and state["frozen_at"]
    # exports
    with page.expect_download() as dl:
        page.click("#export-json")
    path = tmp_path / "t.json"
    dl.value.save_as(path)
    doc = json.loads(path.read_text())
    assert doc["trial"]["name"] == NAME and len(doc["trial"]["cohorts"]) == 3
    with page.expect_download() as dl:
        page.click("#export-sdtm")
    zpath = tmp_path / "t.zip"
    dl.value.save_as(zpath)
    names = zipfile.ZipFile(io.BytesIO(zpath.read_bytes())).namelist()
    assert any(n.endswith("dm.csv") for n in names) and any(
        n.endswith("decision.csv") for n in names
    )
    page.click("#audit-link")
    assert page.query_selector_all("#audit tbody tr")
    assert errors == []
    page.context.close()


def test_viewer_reads_and_cannot_change_anything(browser: Any, server: tuple[str, str]) -> None:
    base, _ = server
    tid = _trial_by_api(base)
    errors: list[str] = []
    page = _page(browser, base, "view", errors)
    assert page.query_selector("#new-trial") is None
    page.click(f"#trials a[href='/trials/{tid}']")
    page.wait_for_url(f"**/trials/{tid}")
    assert page.text_content("#trial-name") == NAME
    assert page.query_selector("#recommendation") is not None
    page.wait_for_function("document.getElementById('escalation-plot').complete")
    assert page.evaluate("document.getElementById('escalation-plot').naturalWidth") > 100
    for form in ("#cohort-form", "#decision-form", "#new-trial"):
        assert page.query_selector(form) is None
    before = _api_state(page, tid)
    token = page.request.get("/api/me").json()["csrf_token"]
    for path, body in ((f"/api/trials/{tid}/cohorts", {"dose_level": 1, "outcomes": "NNN"}),
                       (f"/api/trials/{tid}/decisions", {"action": "follow"}),
                       ("/api/trials", {"name": "v", "design": "boin", "doses": [1, 2]})):  # fmt: skip
        r = page.request.post(path, data=json.dumps(body),
                              headers={"Content-Type": "application/json", "X-CSRF-Token": token})  # fmt: skip
        assert r.status == 403, (path, r.status, r.text())
    # a form post from the page itself (as a forged form would) is refused too
    status = page.evaluate(
        """async (tid) => { const f = new FormData(); f.append('outcomes', 'NNN');
           f.append('dose_level', '1');
           const r = await fetch(`/trials/${tid}/cohorts`, {method: 'POST', body: f});
           return r.status; }""",
        tid,
    )
    assert status == 403
    after = _api_state(page, tid)
    assert (
        after["cohorts"] == before["cohorts"]
        and after["protocol_sha256"] == before["protocol_sha256"]
    )
    assert errors == []
    page.context.close()

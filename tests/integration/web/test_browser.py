"""The console in a real browser (Debian's headless Chromium through chromium-driver and
Selenium), against a real ``logalert run``, the real engine and real files: sign in,
open a rule, break it and see the error at its line, fix it, Test and see the matched
documents and the rendered alert, send real alerts after confirming, Save and see it
go live. Screenshots of every step are kept in the test's tmp dir (the path is printed);
with ``LOGALERT_README_SCREENSHOT=1`` the Test step also rewrites docs/web-console.png."""

from __future__ import annotations

import datetime as dt
import os
import random
import shutil
from pathlib import Path

import pytest

from tests.integration.helpers import wait_log
from tests.support.efk import bulk_load, efk_doc

ROOT = Path(__file__).resolve().parents[3]
README_SHOT = ROOT / "docs" / "web-console.png"
PODS = ["checkout-7d9f8b6c5-x2kqz", "checkout-7d9f8b6c5-m4rtp", "payments-5c8d7f9b4-q8wzn", "cart-6b7c9d8f5-h2jkl"]


def _chromium() -> tuple[str, str]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not browser or not driver:
        pytest.fail("headless Chromium is needed: apt-get install -y chromium chromium-driver (.ci/run does it)",
                    pytrace=False)
    return browser, driver


@pytest.fixture
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver = _chromium()
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=1440,1000", "--hide-scrollbars", "--force-device-scale-factor=1",
                "--force-prefers-reduced-motion"):  # no smooth scroll still moving the page at a click
        options.add_argument(arg)
    chrome = webdriver.Chrome(service=Service(driver), options=options)
    chrome.implicitly_wait(0)
    try:
        yield chrome
    finally:
        chrome.quit()


def _day_of_logs(engine, prefix: str) -> None:
    """A day of checkout logs with two bursts of errors, so the chart has a shape."""
    rnd = random.Random(7)
    now = dt.datetime.now(dt.timezone.utc)
    docs = []
    for minute in range(20, 24 * 60, 3):
        at = now - dt.timedelta(minutes=minute, seconds=rnd.randint(0, 170))
        burst = 170 < minute < 290 or 760 < minute < 840
        error = rnd.random() < (0.6 if burst else 0.06)
        pod = PODS[rnd.randrange(len(PODS))]
        message = ("checkout failed: upstream timeout (payments)" if error else f"GET /api/cart 200 in {rnd.randint(8, 90)} ms")
        docs.append(efk_doc(at, "ERROR" if error else "INFO", message, **{"kubernetes.pod_name": pod}))
    bulk_load(engine, None, docs, prefix=prefix)
    engine.indices.refresh(index=f"{prefix}-*")


class Page:
    """The few things the test does on a page, with waits (the page talks to the API)."""

    def __init__(self, driver, url: str, shots: Path):
        self.driver, self.url, self.shots, self.count = driver, url, shots, 0

    def wait(self, condition, timeout: float = 30):
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, timeout, poll_frequency=0.2).until(condition)

    def css(self, selector: str, timeout: float = 30):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        return self.wait(ec.visibility_of_element_located((By.CSS_SELECTOR, selector)), timeout)

    def text_in(self, selector: str, text: str, timeout: float = 30):
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        self.wait(ec.text_to_be_present_in_element((By.CSS_SELECTOR, selector), text), timeout)
        return self.driver.find_element(By.CSS_SELECTOR, selector)

    def to_top(self) -> None:
        """Scroll to the top and wait until the page stays there: a smooth scroll still
        running (the console scrolls to new test results) would otherwise carry on and
        leave the buttons under the sticky top bar."""
        seen: list[float] = []

        def still_at_top(driver) -> bool:
            seen.append(driver.execute_script("return window.scrollY"))
            if seen[-1] != 0:
                driver.execute_script("window.scrollTo(0, 0)")
            return seen[-2:] == [0, 0]  # two reads 0.2 s apart, no scroll of ours between

        self.driver.execute_script("window.scrollTo(0, 0)")
        self.wait(still_at_top, 10)

    def shot(self, name: str) -> Path:
        self.count += 1
        path = self.shots / f"{self.count:02d}-{name}.png"
        self.driver.save_screenshot(str(path))
        return path

    def replace_line(self, number: int, text: str) -> None:
        """Select a whole line in the editor, as a click on its number does, and type over it."""
        self.driver.find_element("css selector", f'.editor .gutter .gl[data-line="{number}"]').click()
        self.driver.find_element("css selector", ".editor textarea").send_keys(text)


def test_sign_in_break_fix_test_send_and_save_a_rule(console, browser, engine, tmp_path):
    from selenium.webdriver.common.by import By

    _day_of_logs(engine, console.prefix)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    page = Page(browser, console.url, shots)
    print(f"\nscreenshots: {shots}")
    rule_file = console.rules / "errors.yaml"
    name = f"Errors {console.tag}"

    # Sign in: every page sends a browser without a session to the login form.
    browser.get(console.url + "rules/errors.yaml")
    page.css("#token")
    page.shot("login")
    browser.find_element(By.ID, "token").send_keys("not the token")
    browser.find_element(By.CSS_SELECTOR, "form button").click()
    page.text_in(".login-error", "not right")
    browser.find_element(By.ID, "token").send_keys(console.token)
    browser.find_element(By.CSS_SELECTOR, "form button").click()

    # Back at the rule page it was headed for; then the list, and the rule from there.
    page.css(".editor textarea")
    browser.get(console.url)
    page.text_in("table.data", name)
    page.wait(lambda d: d.find_element(By.CSS_SELECTOR, 'tr[data-path="errors.yaml"] [data-live]').text == "Live")
    page.shot("rules")
    browser.find_element(By.LINK_TEXT, name).click()
    page.text_in("h1", name)
    page.text_in(".check-state", "Valid")

    # Break it: an unknown type on line 6, reported at line 6 as you type.
    page.replace_line(6, "type: anyy")
    page.css('.editor .gutter .gl.err[data-line="6"]')
    problem = page.text_in(".problems li.err", "unknown rule type 'anyy'")
    assert "line 6" in problem.text and "did you mean 'any'" in problem.text
    assert browser.find_element(By.CSS_SELECTOR, '.editor pre.hl .ln.err[data-line="6"]')
    page.text_in(".check-state", "1 error")
    page.shot("error-at-its-line")
    # Save refuses it, and the file is untouched.
    before = rule_file.read_text()
    browser.find_element(By.XPATH, "//button[text()='Save']").click()
    page.text_in(".toast.bad", "Not saved")
    assert rule_file.read_text() == before

    # Fix it, and change something worth saving: realert on line 12.
    page.replace_line(6, "type: any")
    page.text_in(".check-state", "Valid")
    page.replace_line(12, "  minutes: 30")
    page.text_in(".dirty", "Unsaved changes")

    # Test over the last 24 h: the chart, the matched documents, the alert as it would be sent.
    browser.find_element(By.CSS_SELECTOR, '.segmented button[data-range="24h"]').click()
    browser.find_element(By.ID, "run-test").click()
    page.text_in("#results .card-head", "Dry run")
    rows = browser.find_elements(By.CSS_SELECTOR, "#matches tbody tr.expandable")
    assert len(rows) >= 10
    assert "checkout failed: upstream timeout" in browser.find_element(By.CSS_SELECTOR, "#matches").text
    assert browser.find_elements(By.CSS_SELECTOR, "#results svg.chart rect.bar")
    subject = browser.find_element(By.CSS_SELECTOR, ".alert-card .subj").text
    assert subject.startswith("ERROR on ") and any(p in subject for p in PODS)
    assert "checkout failed: upstream timeout" in browser.find_element(By.CSS_SELECTOR, ".alert-card pre").text
    page.to_top()
    browser.execute_script("document.querySelectorAll('.toast').forEach((t) => t.remove())")
    browser.set_window_size(1440, 1480)
    page.shot("test-results")
    if os.environ.get("LOGALERT_README_SCREENSHOT"):
        README_SHOT.parent.mkdir(exist_ok=True)
        browser.save_screenshot(str(README_SHOT))
    browser.set_window_size(1440, 1000)
    assert rule_file.read_text() == before  # a Test writes nothing

    # Send real alerts: only after confirming; a cancelled confirmation leaves it off.
    marker = f"=== ALERT [{name}]"
    sent_before = console.log().count(marker)
    switch = browser.find_element(By.ID, "send-real")
    browser.execute_script("arguments[0].click()", switch)
    page.css("dialog.modal")
    page.shot("confirm-send")
    browser.find_element(By.CSS_SELECTOR, 'dialog.modal [data-role="cancel"]').click()
    assert not switch.is_selected()
    browser.execute_script("arguments[0].click()", switch)
    page.css("dialog.modal").find_element(By.CSS_SELECTOR, '[data-role="confirm"]').click()
    assert switch.is_selected()
    browser.find_element(By.CSS_SELECTOR, '.segmented button[data-range="1h"]').click()
    browser.find_element(By.ID, "run-test").click()
    page.text_in("#results .card-head", "Sent for real")
    sent = int(browser.find_elements(By.CSS_SELECTOR, "#results .stat .v")[3].text)
    assert sent >= 1
    wait_log(console.folder, marker, log_name=console.log_name, count=sent_before + sent)
    assert not switch.is_selected()  # one confirmed send at a time

    # Save: the file changes, hot reload picks it up, the page says when it is live.
    page.to_top()
    browser.find_element(By.XPATH, "//button[text()='Save']").click()
    page.text_in(".toast.ok", "Saved errors.yaml")
    assert "  minutes: 30\n" in rule_file.read_text() and rule_file.read_text() != before
    page.wait(lambda d: d.find_element(By.CSS_SELECTOR, ".page-head [data-live]").text == "Live", timeout=40)
    wait_log(console.folder, f"rule '{name}' reloaded", log_name=console.log_name)
    page.shot("saved-and-live")
    assert not browser.find_elements(By.CSS_SELECTOR, ".dirty:not(.hidden)")

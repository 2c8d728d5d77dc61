"""Everything by keyboard: sign in, reach an escalation and acknowledge it with Tab and
Enter alone, seeing where the focus is at every step."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import Live
from tests.browser.test_escalations import urgent_escalation
from tests.support.admin import PASSWORD

# What the focused element looks like: it must match :focus-visible and draw an outline or
# a focus ring (box-shadow) that differs from how it looks unfocused.
FOCUS = """() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  return {
    tag: el.tagName.toLowerCase(),
    text: (el.innerText || el.value || "").trim(),
    visible: el.matches(":focus-visible"),
    outline: style.outlineStyle !== "none" && parseFloat(style.outlineWidth) > 0,
    ring: style.boxShadow !== "none",
  };
}"""


def test_an_escalation_can_be_acknowledged_by_keyboard_alone(live: Live, page: Page) -> None:
    urgent_escalation(live)
    page.goto("/login")
    # The username field has the focus on arrival; wait for it, or the first keys can land
    # before autofocus does (CI once typed "dmin").
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type("admin")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page).to_have_url("/")

    seen = []
    for _ in range(60):
        page.keyboard.press("Tab")
        focus = page.evaluate(FOCUS)
        seen.append(focus["text"][:30])
        assert focus["visible"] and (focus["outline"] or focus["ring"]), focus
        if focus["tag"] == "button" and focus["text"] == "Acknowledge":
            break
    else:
        raise AssertionError(f"Tab never reached Acknowledge; it went through {seen}")
    page.keyboard.press("Enter")

    row = page.locator("#escalations tr[data-escalation-id]")
    expect(row).to_have_attribute("data-state", "acknowledged")
    expect(row).to_contain_text("acknowledged by Alex Admin")

"""The web pages in a real browser: headless Chromium (Debian's package) driven by Playwright,
with JavaScript on and off, against a real Synapse and bot. An applicant fills the join form,
finds every problem at its field, sends it, follows the status link and confirms their
address; once two admins approve, the status page gives the registration token. axe-core
checks every page against WCAG 2.1 A and AA (what RGAA asks) and its best practices: no
violation, whatever its impact.

``AGORA_SCREENSHOTS=<dir>`` (``make screenshots``) also saves the pages there as PNG."""

from __future__ import annotations

import os
import re
import secrets
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import Browser, Dialog, Page, async_playwright, expect

from tests.test_territories import eventually
from tests.test_web_join import Mailbox, confirmation_link

pytestmark = pytest.mark.integration

CHROMIUM = os.environ.get("AGORA_CHROMIUM", "/usr/bin/chromium")
# Playwright drives the system's Chromium: it never downloads one of its own.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
AXE = Path(__file__).parent / "js" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]
SCREENSHOTS = os.environ.get("AGORA_SCREENSHOTS")

# What the applicant reads, in each language: labels, buttons, messages at the fields.
TEXT = {
    "fr": {
        "name": "Nom et prénom",
        "profession": "Profession",
        "rpps": "RPPS",
        "adeli": "ADELI",
        "structure": "Structure d'exercice",
        "territory": "Territoire",
        "email": "Adresse électronique",
        "send": "Envoyer la demande",
        "error": "Erreur :",
        "required": "Obligatoire",
        "rpps_bad": "Numéro RPPS invalide (clé de contrôle incorrecte)",
        "adeli_bad": "Un numéro ADELI compte 9 caractères (département puis 7 chiffres)",
        "email_bad": "Adresse électronique invalide",
        "request": r"Demande n° (\d+)",
        "unconfirmed": "Confirmez d'abord votre adresse",
        "confirm": "Confirmer mon adresse",
        "confirmed": "Adresse confirmée",
        "pending": "En cours d'examen : 0 validation(s) sur 2",
        "approved": "Votre demande est acceptée. Bienvenue !",
        "other": "English",
    },
    "en": {
        "name": "Full name",
        "profession": "Profession",
        "rpps": "RPPS",
        "adeli": "ADELI",
        "structure": "Practice or organisation",
        "territory": "Territory",
        "email": "Email address",
        "send": "Send the request",
        "error": "Error:",
        "required": "Required",
        "rpps_bad": "Invalid RPPS number (wrong check digit)",
        "adeli_bad": "An ADELI number has 9 characters (department, then 7 digits)",
        "email_bad": "Invalid email address",
        "request": r"Request no\. (\d+)",
        "unconfirmed": "First confirm your address",
        "confirm": "Confirm my address",
        "confirmed": "Address confirmed",
        "pending": "Being checked: 0 of 2 approval(s)",
        "approved": "Your request is approved. Welcome!",
        "other": "Français",
    },
}
FIELDS = ("name", "profession", "rpps", "adeli", "structure", "territory", "email")


def network(sfx: str) -> dict:
    """One territory with a community room and an announcements room (for the news page)."""
    return {
        "territories": [
            {
                "id": f"vaucluse-{sfx}",
                "name": "Vaucluse",
                "rooms": [
                    {"id": "communaute", "name": "Vaucluse · Communauté", "kind": "community"},
                    {"id": "annonces", "name": "Vaucluse · Annonces", "kind": "announcements"},
                ],
            }
        ]
    }


@pytest.fixture(scope="module")
async def chromium():
    assert os.access(CHROMIUM, os.X_OK), (
        f"no Chromium at {CHROMIUM}: `make install-browser` installs Debian's package"
    )
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture(scope="module")
def mailbox():
    box = Mailbox()
    box.controller.start()
    yield box
    box.controller.stop()


@pytest.fixture
async def region(person, start_bot, mailbox):
    """A bot whose two admins sit in its control room, mailing through the local mailbox."""
    sfx = secrets.token_hex(3)
    first, second = await person("admin"), await person("admin")
    agora = await start_bot(
        [first.user_id, second.user_id],
        network=network(sfx),
        smtp={"host": "127.0.0.1", "port": mailbox.port, "security": "none", "from": "a@b.example"},
    )
    for admin in (first, second):
        await admin.accept_invite(agora.control.room_id)
    await agora.settled()
    return agora, first, second, sfx, f"http://127.0.0.1:{agora.web.port}"


@pytest.fixture
async def browse(chromium):
    """``await browse(url, javascript=…, lang=…)``: the page in a new browser session (no
    cookies) of a French or English browser, JavaScript on or off. The pages forbid scripts
    (Content-Security-Policy): that is bypassed only so that axe can run in them."""
    contexts = []

    async def open_page(url: str, *, javascript: bool, lang: str = "fr") -> Page:
        context = await chromium.new_context(
            java_script_enabled=javascript,
            locale={"fr": "fr-FR", "en": "en-GB"}[lang],
            bypass_csp=True,
            viewport={"width": 800, "height": 600},
        )
        contexts.append(context)
        page = await context.new_page()
        response = await page.goto(url)
        assert response is not None and response.ok, url
        return page

    yield open_page
    for context in contexts:
        await context.close()


async def violations(browser: Browser, page: Page, *, javascript: bool) -> list[dict]:
    """What axe-core finds on the page as it is now; with JavaScript off, in a copy of its DOM
    opened with JavaScript on (axe is a script)."""
    target, context = page, None
    if not javascript:
        context = await browser.new_context(viewport={"width": 800, "height": 600})
        target = await context.new_page()
        await target.set_content(await page.content())
    try:
        await target.add_script_tag(path=AXE)
        return await target.evaluate(
            """async (tags) => (await axe.run(document, {
                runOnly: {type: "tag", values: tags}, resultTypes: ["violations"],
            })).violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                where: v.nodes.map(n => n.target.join(" ")),
            }))""",
            AXE_TAGS,
        )
    finally:
        if context is not None:
            await context.close()


async def shoot(page: Page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=Path(SCREENSHOTS) / f"{name}.png", full_page=True)


async def focused(page: Page) -> str:
    """The focused element, as ``tag#id`` (or its text for a link without id)."""
    return await page.evaluate(
        "() => { const e = document.activeElement;"
        " return e.tagName.toLowerCase() + (e.id ? '#' + e.id : ':' + e.textContent.trim()); }"
    )


async def outline(page: Page) -> str:
    return await page.evaluate(
        "() => { const s = getComputedStyle(document.activeElement);"
        " return s.outlineStyle + ' ' + s.outlineWidth; }"
    )


def field(page: Page, lang: str, name: str):
    """A field found by its label, as a screen reader names it (a hint in brackets may follow:
    ADELI's names RPPS, so the label's first words are matched, not any words)."""
    label = re.escape(TEXT[lang][name])
    return page.get_by_label(re.compile(rf"^{label}( \(.*\))?$"))


async def problems_at(page: Page, lang: str) -> dict[str, str]:
    """Each field marked invalid → the description a screen reader reads with it."""
    found = {}
    for name in FIELDS:
        control = field(page, lang, name)
        if await control.get_attribute("aria-invalid") == "true":
            described = await control.get_attribute("aria-describedby")
            assert described, name
            found[name] = " ".join((await page.locator(f"#{described}").text_content()).split())
        else:
            assert await control.get_attribute("aria-describedby") is None, name
    return found


async def summary_links(page: Page) -> dict[str, str]:
    summary = page.get_by_role("alert")
    return {
        (await link.get_attribute("href")): await link.text_content()
        for link in await summary.get_by_role("link").all()
    }


@pytest.mark.parametrize(
    ("javascript", "lang"), [(True, "fr"), (False, "en")], ids=["javascript-fr", "no-script-en"]
)
async def test_an_applicant_finds_each_problem_at_its_field_and_follows_the_status_link(
    region, chromium, browse, mailbox, javascript, lang
):
    agora, first, second, sfx, base = region
    text = TEXT[lang]
    page = await browse(f"{base}/join?lang={lang}", javascript=javascript, lang=lang)
    assert await page.get_attribute("html", "lang") == lang
    assert await violations(chromium, page, javascript=javascript) == []
    if lang == "fr":
        await shoot(page, "join")

    # The keyboard goes through the page in the order it reads, and shows where it is.
    order = []
    for _ in range(9):
        await page.keyboard.press("Tab")
        order.append(await focused(page))
        assert (await outline(page)).startswith("solid 3px"), order[-1]
    assert order == [
        f"a:{text['other']}",
        *(f"{'select' if f in ('profession', 'territory') else 'input'}#{f}" for f in FIELDS),
        f"button:{text['send']}",
    ]

    # Sent empty: the browser lets it go (the server's messages are the ones shown), and
    # each required field says so, where it is and to a screen reader.
    await page.get_by_role("button", name=text["send"]).click()
    await expect(page).to_have_title(re.compile("^" + re.escape(text["error"])))
    required = f"{text['error']} {text['required']}"
    assert await problems_at(page, lang) == dict.fromkeys(
        ("name", "profession", "territory", "email"), required
    )
    await expect(field(page, lang, "email")).to_have_accessible_description(required)
    summary = page.get_by_role("alert")
    await expect(summary).to_be_focused()  # autofocus: with or without JavaScript
    links = await summary_links(page)
    assert list(links) == ["#name", "#profession", "#territory", "#email"]
    assert all(line.endswith(text["required"].lower()) for line in links.values()), links
    assert await violations(chromium, page, javascript=javascript) == []
    await summary.get_by_role("link").last.click()
    await expect(field(page, lang, "email")).to_be_focused()

    # Wrong values: named at their own fields, everything typed kept (as text).
    alerts: list[str] = []

    async def dialog(opened: Dialog) -> None:
        alerts.append(opened.message)
        await opened.dismiss()

    page.on("dialog", dialog)
    await field(page, lang, "name").fill("Nadia Benali")
    await field(page, lang, "profession").select_option("pharmacien")
    await field(page, lang, "rpps").fill("10101234565")
    await field(page, lang, "adeli").fill("123")
    await field(page, lang, "structure").fill("<script>alert(1)</script>")
    await field(page, lang, "territory").select_option(f"vaucluse-{sfx}")
    await field(page, lang, "email").fill("n.benali@")
    await page.get_by_role("button", name=text["send"]).click()
    await expect(page.get_by_role("alert")).to_be_focused()
    assert await problems_at(page, lang) == {
        "rpps": f"{text['error']} {text['rpps_bad']}",
        "adeli": f"{text['error']} {text['adeli_bad']}",
        "email": f"{text['error']} {text['email_bad']}",
    }
    assert list(await summary_links(page)) == ["#rpps", "#adeli", "#email"]
    await expect(field(page, lang, "name")).to_have_value("Nadia Benali")
    await expect(field(page, lang, "structure")).to_have_value("<script>alert(1)</script>")
    await expect(field(page, lang, "territory")).to_have_value(f"vaucluse-{sfx}")
    assert alerts == []  # the script typed stayed text (the page's CSP is bypassed here)
    assert await violations(chromium, page, javascript=javascript) == []
    if lang == "fr":
        await shoot(page, "join-errors")

    # Put right and sent: the status page, whose address is the applicant's private link.
    email = f"n.benali.{sfx}.{lang}@example.org"
    await field(page, lang, "rpps").fill("10101234564")
    await field(page, lang, "adeli").fill("")
    await field(page, lang, "email").fill(email)
    await page.get_by_role("button", name=text["send"]).click()
    await expect(page).to_have_url(re.compile(r"/join/status/[\w-]{32,}\?lang=" + lang))
    heading = await page.get_by_role("heading", level=1).text_content()
    number = int(re.search(text["request"], heading).group(1))
    assert (await agora.vetting.get(number)).status == "unconfirmed"
    status = await browse(page.url, javascript=javascript, lang=lang)  # later, from anywhere
    body = await status.locator("main").inner_text()
    assert text["unconfirmed"] in body and "n•••@example.org" in body
    assert await violations(chromium, status, javascript=javascript) == []

    # The mail's link, opened and confirmed: the admins get the card, and approve.
    mail = await eventually(lambda: _mail(mailbox, email), "the confirmation mail")
    link = confirmation_link(mail.get_content())
    confirm = await browse(link, javascript=javascript, lang=lang)
    assert await violations(chromium, confirm, javascript=javascript) == []
    await confirm.get_by_role("button", name=text["confirm"]).click()
    await expect(confirm.locator("main")).to_contain_text(text["confirmed"])
    assert await violations(chromium, confirm, javascript=javascript) == []
    await status.reload()
    await expect(status.locator("main")).to_contain_text(text["pending"])
    for admin in (first, second):
        _, reaction = await admin.command(agora.control.room_id, f"!approve {number}")
        assert reaction == "✅"

    async def token() -> str | None:
        await status.reload()
        shown = status.locator(".token")
        return (await shown.text_content()).strip() if await shown.count() else None

    code = await eventually(token, "the registration token on the status page")
    assert (await agora.vetting.get(number)).reg_token == code
    body = await status.locator("main").inner_text()
    assert text["approved"] in body and agora.config.homeserver.public_url in body
    assert await status.get_by_role("listitem").count() == 4  # the steps to register
    assert await violations(chromium, status, javascript=javascript) == []
    if lang == "fr":
        await shoot(status, "status")


# A French browser with JavaScript, an English one without: the page follows the browser.
BROWSERS = [(True, "fr", "Aucune actualité publique"), (False, "en", "No public news yet")]


async def test_the_public_news_page_reads_in_both_languages_with_and_without_javascript(
    region, chromium, browse
):
    agora, admin, _, sfx, base = region
    url = f"{base}/news/vaucluse-{sfx}"
    for javascript, lang, empty in BROWSERS:
        page = await browse(url, javascript=javascript, lang=lang)
        assert await page.get_attribute("html", "lang") == lang
        await expect(page.locator("main")).to_contain_text(empty)
        assert await violations(chromium, page, javascript=javascript) == []
    reply, reaction = await admin.command(
        agora.control.room_id,
        f"!news vaucluse-{sfx} --public Journée de dépistage\nSamedi, maison de santé d'Apt",
    )
    assert reaction == "✅", reply.body

    async def listed() -> bool:
        async with aiohttp.ClientSession() as http, http.get(url) as resp:
            return "Journée de dépistage" in await resp.text()

    await eventually(listed, "the item on the public page")
    for javascript, lang, _ in BROWSERS:
        page = await browse(url, javascript=javascript, lang=lang)
        assert await page.get_attribute("html", "lang") == lang
        item = page.get_by_role("article")
        await expect(item.get_by_role("heading", level=2)).to_have_text("Journée de dépistage")
        await expect(item).to_contain_text("Samedi, maison de santé d'Apt")
        assert await page.get_by_role("link", name="RSS").get_attribute("href") == (
            f"/news/vaucluse-{sfx}.rss"
        )
        assert await violations(chromium, page, javascript=javascript) == []
        if lang == "fr":
            await shoot(page, "news")


async def _mail(mailbox: Mailbox, address: str):
    found = mailbox.to(address)
    return found[-1] if found else None

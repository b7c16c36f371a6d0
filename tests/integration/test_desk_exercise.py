"""A full SRM reunification exercise run from the desk pages (`/desk/{site}`, the district's
`/district/{district}/reunification`) in Debian's Chromium through Playwright, against a running
Muster: 30 students, two adults with custody restrictions who come for a child, one student
taken to hospital. The set-up (the site, the evacuation, accounting, check-in at the assembly
area, the reunification point) goes through the API; the reunification itself goes through the
pages alone: greeters register the guardians, checkers verify them (the two restricted adults
are refused at the desk), reunifiers fetch and release 27 students, and the hospital case is
opened and resolved on the exceptions tab. Then the after-action report tells the
reunification's times. Screenshots (test-artefacts/screenshots/): desk-greeter, desk-checker-flag,
desk-reunifier, desk-exceptions and desk-district, each -1024 (tablet) and -390 (phone)."""

from collections.abc import AsyncIterator

import aiohttp
import pytest
from playwright.async_api import Browser, expect

from tests.conftest import App
from tests.integration.browser import axe_violations, grave, launched
from tests.integration.desk_scenes import (
    HOSPITAL,
    LATE,
    PHONE,
    SITE,
    TABLET,
    check,
    desk_site,
    families,
    greet,
    opened,
    set_up,
    shoot,
)
from tests.integration.test_demo_lockdown import call

# Each desk step as an event, and the role of the token that took it.
DESK_STEPS = {"GuardianArrived": "staff", "GuardianCheckedIn": "staff", "StudentFetched": "staff",
              "StudentReleased": "staff", "ExceptionOpened": "staff",
              "ExceptionResolved": "commander"}


@pytest.fixture(scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with launched() as launched_browser:
        yield launched_browser


async def test_a_reunification_runs_from_the_desk_pages(app: App, browser: Browser) -> None:
    incident = await set_up(app)
    staff, commander = await app.token("staff", SITE), await app.token("commander", SITE)
    fams = families()
    cards = {f.guardian: str(100 + i) for i, f in enumerate(fams)}
    cards.update({f.restricted: str(200 + i) for i, f in enumerate(fams) if f.restricted})
    # Who comes to the desk: every family's guardian but the hospital child's, and the two
    # restricted adults, each for the child a court order keeps from them.
    arrivals = [(f.guardian, f.students) for i, f in enumerate(fams)
                if i != HOSPITAL and not f.restricted]
    # The second is typed as she says it at the desk: the court order's "Dana Moreau" still.
    victor, dana = fams[6].restricted, "DANA  moreau"
    arrivals[3:3] = [(victor, fams[6].students)]
    arrivals[11:11] = [(dana, fams[12].students)]
    barred = {victor: cards[victor], dana: cards[fams[12].restricted]}
    cards[dana] = barred[dana]
    path = f"/desk/{SITE}"
    desk = {"1024": await opened(browser, app, path, staff, TABLET),
            "390": await opened(browser, app, path, staff, PHONE)}
    tablet, phone = desk["1024"], desk["390"]
    boss = await opened(browser, app, path, commander, TABLET)
    district = None
    try:
        await expect(tablet.locator("#school")).to_have_text("Desk High")
        assert "#token" not in tablet.url  # the token left the address bar
        summary = tablet.locator("#summary")
        await expect(summary).to_contain_text("Riverside Church — 12 River Road")
        await expect(summary).to_contain_text("28 checked in")
        # The last student reaches the assembly area: a checker finds and checks them in.
        await tablet.locator("#tab-checker").click()
        await tablet.locator("#check-search").fill("Eli Young")
        late = tablet.locator(f"#check-found article[data-key='{LATE}']")
        await expect(late.locator(".state")).to_have_text("not checked in")
        await late.locator("button[data-act=checkin]").click()
        await expect(late.locator(".state")).to_have_text("waiting")
        await expect(late.locator("button[data-act=checkin]")).to_have_count(0)
        await expect(summary).to_contain_text("29 checked in")
        await tablet.locator("#tab-greeter").click()
        await expect(summary).to_contain_text("Everyone is accounted for")
        await expect(tablet.locator("#modebar")).to_contain_text("LIVE")

        # Greeters: each adult with a card and the students they name, oldest first, waiting.
        for guardian, students in arrivals:
            await greet(tablet, guardian, cards[guardian], students)
        entries = tablet.locator("#queue li.entry")
        await expect(entries).to_have_count(len(arrivals))
        await expect(entries.first).to_contain_text(f"Card {cards[arrivals[0][0]]}")
        wait = entries.first.locator(".wait")
        await expect(wait).not_to_have_text(await wait.text_content() or "", timeout=3_000)
        await expect(summary).to_contain_text(f"{len(arrivals)} guardians waiting")
        await shoot(desk, "desk-greeter")

        # Checkers: the ID seen, each guardian approved; the two restricted adults flagged.
        await tablet.locator("#tab-checker").click()
        for guardian, _ in arrivals:
            card = cards[guardian]
            await check(tablet, card)
            row = tablet.locator(f"#check-queue li[data-key='{card}']")
            if guardian in barred:
                await expect(tablet.locator("#check-entry .flag")).to_contain_text(
                    "Custody restriction: do not release; call the administrator")
                await expect(row).to_contain_text("Flagged")
            else:
                await expect(row).to_have_count(0)  # approved: off to the reunifiers
        await tablet.locator(f"#check-queue button[data-card='{barred[dana]}']").click()
        await expect(tablet.locator("#check-entry .verdict.bad")).to_contain_text(
            f"{dana} is RESTRICTED for Theo Moreau")
        flagged = barred[victor]
        await tablet.locator(f"#check-queue button[data-card='{flagged}']").click()
        entry = tablet.locator("#check-entry")
        await expect(entry.locator(".verdict.bad")).to_contain_text(
            f"{fams[6].restricted} is RESTRICTED")
        await expect(entry.locator(".restriction")).to_contain_text(fams[6].restricted)
        milo = fams[6].students[0][0]
        await expect(entry.locator("tr.restricted")).to_contain_text(f"+1555020{milo[-2:]}")
        await expect(entry).to_contain_text(f"{milo}@families.example.org")
        colour = await entry.locator(".restriction").evaluate(
            "e => getComputedStyle(e).backgroundColor")
        assert colour == "rgb(138, 0, 25)", colour  # red, and said in words too
        await expect(tablet.locator("#check-entry #check-verified")).to_have_count(0)
        await phone.locator("#tab-checker").click()
        await phone.locator(f"#check-queue button[data-card='{flagged}']").click()
        await expect(phone.locator("#check-entry .flag")).to_contain_text("Custody restriction")
        await shoot(desk, "desk-checker-flag")

        # Reunifiers: approved cards only; fetch, ask the student, release.
        await tablet.locator("#tab-reunifier").click()
        approved = tablet.locator("#approved li.acard")
        await expect(approved).to_have_count(len(arrivals) - 2)
        for card in barred.values():
            await expect(tablet.locator(f"#approved li[data-key='{card}']")
                         ).to_have_count(0)
        first = True
        for guardian, students in arrivals:
            if guardian in barred:
                continue
            await tablet.locator("#reunify-search").fill(cards[guardian])  # the card in hand
            await expect(approved).to_have_count(1)
            for sid, _ in students:
                student = tablet.locator(f"#approved li[data-key='{sid}']")
                await student.locator("button[data-act=fetch]").click()
                await expect(student.locator(".consent")).to_have_text(
                    f"Ask {dict(students)[sid]}: “Are you comfortable leaving with "
                    f"{guardian}?”")
                if first:  # the first says no at first: nobody is released, the office is called
                    await student.locator("button[data-act=refuse]").click()
                    await expect(tablet.locator("#toast")).to_contain_text(
                        "Do not release Ava Abbott: call the administrator")
                    await expect(student.locator(".consent")).to_be_visible()
                    # the phone's desk reads it within its next 2 s
                    await phone.locator("#tab-reunifier").click()
                    await expect(phone.locator(f"#approved li[data-key='{sid}'] .consent")
                                 ).to_be_visible()
                    await shoot(desk, "desk-reunifier")
                    first = False
                await student.locator("button[data-act=release]").click()
                await expect(tablet.locator(f"#released li[data-key='{sid}']")).to_contain_text(
                    f"→ {guardian}")
        await tablet.locator("#reunify-search").fill("")
        await expect(approved).to_have_count(0)
        await expect(tablet.locator("#approved")).to_contain_text("No approved card waits")
        await expect(summary).to_contain_text("27 released")
        assert grave(await axe_violations(tablet)) == []

        # The exceptions track: staff open the hospital case; the commander alone resolves it.
        hurt_id, hurt_name = fams[HOSPITAL].students[0]
        await tablet.locator("#tab-exceptions").click()
        await tablet.locator("#case-search").fill(hurt_name)
        await tablet.locator(f"#case-found button[data-id='{hurt_id}']").click()
        await tablet.locator("#case-kind").select_option("hospital")
        await tablet.locator("#case-hospital").fill("St. Mary's Hospital")
        await tablet.locator("#case-assigned").fill("Rosa Ortiz")
        await tablet.locator("#case-role").select_option("counsellor")
        await tablet.locator("#case-form button[type=submit]").click()
        case = tablet.locator("#cases li.case")
        await expect(case).to_contain_text("Transported to hospital: St. Mary's Hospital")
        await expect(case).to_contain_text("Open: the commander resolves it")
        await expect(case.locator("form")).to_have_count(0)
        # A case resolved into an adult's care is a release: the commander, who met her mother
        # at the hospital, says the photo ID was seen; without that the desk refuses it.
        await boss.locator("#tab-exceptions").click()
        resolve = boss.locator("#cases li.case form")
        await resolve.locator("input[name=outcome]").fill("Met her mother at St. Mary's")
        await resolve.locator("select[name=released_to]").select_option(
            fams[HOSPITAL].guardian)
        await resolve.locator("button[type=submit]").click()
        await expect(boss.locator("#toast")).to_contain_text("photo ID")
        await resolve.locator("input[name=id_verified]").check()
        await phone.locator("#tab-exceptions").click()
        await expect(phone.locator("#cases li.case")).to_contain_text("St. Mary's Hospital")
        await shoot({"1024": boss, "390": phone}, "desk-exceptions")
        await resolve.locator("button[type=submit]").click()
        await expect(case).to_contain_text(
            f"Met her mother at St. Mary's — released to {fams[HOSPITAL].guardian}")
        await expect(tablet.locator("#summary")).to_contain_text("1 exception")

        # The district: Riverside Church's progress, counts only.
        everywhere = await app.token("commander", "*")
        district = {size: await opened(browser, app, "/district/test-district/reunification",
                                       everywhere, view)
                    for size, view in (("1024", TABLET), ("390", PHONE))}
        point = district["1024"].locator("article.point-card")
        await expect(point).to_have_count(1)
        await expect(point).to_contain_text("Riverside Church")
        await expect(point.locator(".f-released b")).to_have_text("28")
        await expect(point.locator(".f-students_waiting b")).to_have_text("2")
        await expect(point.locator(".f-exceptions b")).to_have_text("1")
        await expect(district["390"].locator("article.point-card")).to_contain_text("desk-high")
        assert grave(await axe_violations(district["1024"])) == []
        await shoot(district, "desk-district")
    finally:
        for page in [*desk.values(), boss, *(district or {}).values()]:
            await page.context.close()

    # Every step is an event with its actor; the report tells the reunification's times.
    async with aiohttp.ClientSession() as http:
        await app.wait_projected(await app.log.last_seq())
        status, timeline = await call(http, app, f"/v1/incidents/{incident}/timeline",
                                      commander)
        assert status == 200
        done: dict[str, int] = {}
        for ev in timeline["events"]:
            done[ev["type"]] = done.get(ev["type"], 0) + 1
            if ev["type"] in DESK_STEPS:  # who did it: the desk's token, by its name
                assert ev["actor"]["role"] == DESK_STEPS[ev["type"]], ev
                assert ev["actor"]["id"].startswith(f"{DESK_STEPS[ev['type']]}-{SITE}"), ev
        assert done["GuardianArrived"] == len(arrivals) and done["StudentReleased"] == 27
        assert done["GuardianCheckedIn"] == len(arrivals)
        assert done["StudentFetched"] == 27
        assert done["ExceptionOpened"] == done["ExceptionResolved"] == 1
        status, report = await call(http, app, f"/v1/incidents/{incident}/report?format=json",
                                    commander)
        assert status == 200, report
        times = report["reunification"]
        assert (times["checked_in"], times["guardians"], times["released"]) == (29, 23, 27)
        assert 0 < times["first_arrival_s"] < times["first_release_s"] < times["last_release_s"]
        assert 0 < times["median_wait_s"] <= times["longest_wait_s"]
        assert times["still_waiting"] == 2  # the two restricted adults, sent to the office
        assert times["points"] == [{"place": "Riverside Church", "arrivals": 23, "released": 27}]
        assert times["exceptions"] == {"hospital": 1}
        [hospital] = times["cases"]
        assert hospital["released"] and hospital["resolved_s"] > hospital["opened_s"]


async def test_a_responder_is_told_the_desk_is_not_theirs(app: App, browser: Browser) -> None:
    """Guardians, contacts and custody restrictions are need to know: a responder's token opens
    the page, is told why not, and sees no student."""
    commander = await app.token("commander")
    async with aiohttp.ClientSession() as http:
        status, _ = await call(http, app, "/v1/sites/test-high/alerts", commander,
                               {"kind": "fire", "room": "A-101"})
        assert status == 202
    page = await opened(browser, app, "/desk/test-high", await app.token("responder"), PHONE)
    try:
        await expect(page.locator("#problem")).to_contain_text("may not use the desk")
        await expect(page.locator("#main")).to_be_hidden()
        assert "Lovelace" not in await page.content()
    finally:
        await page.context.close()


async def test_a_drill_desk_says_drill(app: App, browser: Browser) -> None:
    commander = await app.token("commander")
    async with aiohttp.ClientSession() as http:
        status, body = await call(http, app, "/v1/sites/test-high/drills", commander,
                                  {"scenario": "fire"})
        assert status == 202, body
    page = await opened(browser, app, "/desk/test-high", commander, TABLET, "&tab=exceptions")
    try:
        await expect(page.locator("#modebar.m-drill")).to_contain_text("DRILL — this is a drill")
        await expect(page.locator("#tab-exceptions")).to_have_attribute("aria-selected", "true")
        await expect(page.locator("#summary")).to_contain_text("No reunification point set yet")
        await expect(page.locator("#cases")).to_contain_text("No case is open.")
    finally:
        await page.context.close()


async def test_a_token_of_one_school_is_told_the_district_is_not_theirs(
        app: App, browser: Browser) -> None:
    await app.muster.import_site(desk_site())
    page = await opened(browser, app, "/district/test-district/reunification",
                        await app.token("commander", SITE), PHONE)
    try:
        await expect(page.locator("#problem")).to_contain_text("may not read the district")
        await expect(page.locator("article.point-card")).to_have_count(0)
    finally:
        await page.context.close()

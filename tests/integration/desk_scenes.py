"""The reunification desk's exercise, set: a school of 30 students in 24 families, two of whom
a court order keeps from one adult, one taken to hospital; the set-up through the API; and the
page steps a greeter and a checker take, as test_desk_exercise drives them."""

from dataclasses import dataclass

import aiohttp
from playwright.async_api import Browser, Page, expect

from command.domain import site as site_file
from tests.conftest import App
from tests.integration.browser import SHOTS
from tests.integration.test_demo_lockdown import call

SITE = "desk-high"
TABLET = {"width": 1024, "height": 768}
PHONE = {"width": 390, "height": 844}
SURNAMES = ["Abbott", "Baker", "Castro", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Ito",
            "Jensen", "Khan", "Lopez", "Moreau", "Nakamura", "Okafor", "Patel", "Quinn", "Rossi",
            "Silva", "Tanaka", "Usman", "Varga", "Weber", "Young"]
FIRST = ["Ava", "Ben", "Cleo", "Dev", "Emil", "Fay", "Gus", "Hana", "Ivo", "Jada", "Kai", "Lena",
         "Milo", "Nia", "Otto", "Pia", "Remy", "Sana", "Theo", "Uma", "Vera", "Wes", "Xena",
         "Yuri", "Zoe", "Arlo", "Bea", "Cyd", "Dina", "Eli"]
RESTRICTED = {6: "Victor Garcia", 12: "Dana Moreau"}  # family → the adult a court order bars
HOSPITAL = 9  # the Jensen child, taken to St. Mary's
LATE = "s-30"  # checked in at the assembly area from the desk


@dataclass(frozen=True)
class Family:
    guardian: str
    students: list[tuple[str, str]]  # (id, name)
    restricted: str | None = None


def families() -> list[Family]:
    """24 families: the first six with two children, the rest with one; 30 students."""
    found, n = [], 0
    for i, surname in enumerate(SURNAMES):
        kids = []
        for _ in range(2 if i < 6 else 1):
            kids.append((f"s-{n + 1:02d}", f"{FIRST[n]} {surname}"))
            n += 1
        found.append(Family(f"Carla {surname}" if i % 2 else f"Marc {surname}", kids,
                            RESTRICTED.get(i)))
    return found


def desk_site() -> site_file.Site:
    people = []
    for f in families():
        for sid, name in f.students:
            contacts = [f'{{ name = "{f.guardian}", relationship = "parent", '
                        f'phone = "+1555010{sid[-2:]}", email = "{sid}@families.example.org" }}']
            if f.restricted:
                contacts.append(f'{{ name = "{f.restricted}", relationship = "parent (court '
                                f'order)", phone = "+1555020{sid[-2:]}" }}')
            people.append(f"""[[people]]
id = "{sid}"
name = "{name}"
room = "{'R-1' if int(sid[-2:]) <= 15 else 'R-2'}"
grade = "{7 if int(sid[-2:]) % 2 else 8}"
guardians = ["{f.guardian}"]
restricted = [{f'"{f.restricted}"' if f.restricted else ""}]
contacts = [{", ".join(contacts)}]
""")
    return site_file.loads(f"""
id = "{SITE}"
name = "Desk High"
district = "test-district"
[[rooms]]
id = "R-1"
name = "Science"
[[rooms]]
id = "R-2"
name = "History"
[[evacuation_sites]]
id = "north-field"
name = "the north field"
[[evacuation_sites]]
id = "riverside"
name = "Riverside Church"
kind = "reunification"
off_site = true
address = "12 River Road"
[[people]]
id = "t-1"
name = "Rosa Ortiz"
kind = "staff"
room = "R-1"
[[people]]
id = "t-2"
name = "Ian Wright"
kind = "staff"
room = "R-2"
""" + "\n".join(people))


async def set_up(app: App) -> str:
    """Through the API: a fire evacuates the school, everyone is accounted for (the Jensen
    child injured), 28 students check in at the assembly area, the point is Riverside Church."""
    site = desk_site()
    await app.muster.import_site(site)
    commander, staff = await app.token("commander", SITE), await app.token("staff", SITE)
    async with aiohttp.ClientSession() as http:
        status, press = await call(http, app, f"/v1/sites/{SITE}/alerts", commander,
                                   {"kind": "fire", "room": "R-1"})
        assert status == 202, press
        base = f"/v1/incidents/{press['incident_id']}"
        hurt = families()[HOSPITAL].students[0][0]
        entries = [{"person_id": p.id, "status": "injured" if p.id == hurt else "accounted"}
                   for p in site.people]
        status, body = await call(http, app, base + "/accountability", staff,
                                  {"entries": entries})
        assert status == 202, body
        for p in site.people:  # the last one checks in at the desk
            if p.kind == "student" and p.id not in (hurt, LATE):
                status, body = await call(http, app, base + "/reunification/checkin", staff,
                                          {"person_id": p.id, "area": "the north field"})
                assert status == 202, body
        status, body = await call(http, app, base + "/reunification/point", commander,
                                  {"place": "riverside"})
        assert status == 202, body
    await app.wait_projected(await app.log.last_seq())
    return str(press["incident_id"])


async def opened(browser: Browser, app: App, path: str, token: str, size: dict,
                 more: str = "") -> Page:
    context = await browser.new_context(viewport=size)
    context.set_default_timeout(10_000)
    page = await context.new_page()
    await page.goto(f"{app.url}{path}#token={token}{more}")
    return page


async def shoot(pages: dict[str, Page], name: str) -> None:
    """Each page (tablet and phone) captured whole, and never wider than its screen."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for size, page in pages.items():
        await expect(page.locator("#toast.show")).to_have_count(0, timeout=8_000)
        wide = await page.evaluate("document.documentElement.scrollWidth")
        assert wide <= page.viewport_size["width"], f"{name}: {wide} px wide at {size}"
        await page.screenshot(path=SHOTS / f"{name}-{size}.png", full_page=True)


async def greet(page: Page, guardian: str, card: str, students: list[tuple[str, str]]) -> None:
    await page.locator("#arrive-guardian").fill(guardian)
    await page.locator("#arrive-card").fill(card)
    for sid, name in students:
        await page.locator("#arrive-search").fill(name.split()[0])  # a few letters find them
        await page.locator(f"#arrive-found button[data-id='{sid}']").click()
        await expect(page.locator(f"#arrive-chosen li[data-key='{sid}']")).to_be_visible()
    await page.locator("#arrive-form button[type=submit]").click()
    await expect(page.locator(f"#queue li[data-key='{card}']")).to_contain_text(guardian)
    await expect(page.locator("#arrive-chosen li")).to_have_count(0)


async def check(page: Page, card: str) -> None:
    await page.locator(f"#check-queue button[data-card='{card}']").click()
    await expect(page.locator("#check-entry h3").first).to_contain_text(f"Card {card}")
    await page.locator("#check-verified").check()
    await page.locator("#check-entry button[type=submit]").click()

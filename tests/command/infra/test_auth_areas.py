"""A token's binding: one site, every site, or a dispatch area (`area:NAME`)."""

from datetime import UTC, datetime

import pytest

from command.domain.errors import Forbidden
from command.infra.auth import Token, authorize


def token(site: str, role: str = "dispatch") -> Token:
    return Token(1, "cad", role, site, b"h", datetime(2026, 1, 1, tzinfo=UTC))


def test_an_area_token_allows_the_sites_of_its_area_only() -> None:
    cad = token("area:anytown-pd")
    assert cad.allows_site("demo-high", area="anytown-pd")
    assert not cad.allows_site("demo-high", area="othertown-pd")
    assert not cad.allows_site("demo-high")  # a route that knows no area: no site at all
    assert not cad.allows_site("anytown-pd")  # the area's name is not a site's


def test_site_and_star_bindings_are_unchanged_by_areas() -> None:
    assert token("*").allows_site("x", area="anytown-pd")
    assert token("demo-high").allows_site("demo-high", area="anytown-pd")
    assert not token("demo-high").allows_site("other", area="anytown-pd")


def test_authorize_names_the_area_when_it_refuses() -> None:
    with pytest.raises(Forbidden, match="dispatch area"):
        authorize(token("area:anytown-pd"), ("dispatch",), "demo-high", area="elsewhere")
    with pytest.raises(Forbidden, match="not bound to this site"):
        authorize(token("other"), ("dispatch",), "demo-high", area="anytown-pd")
    authorize(token("area:anytown-pd"), ("dispatch",), "demo-high", area="anytown-pd")

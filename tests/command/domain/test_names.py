"""Names compare folded: case, spacing and Unicode forms never tell two adults apart."""

from command.domain.names import among, folded, same


def test_case_and_spaces_fold() -> None:
    assert folded("  MARK   Jones ") == "mark jones"
    assert same("Mark Jones", "mark  jones")


def test_unicode_forms_fold() -> None:
    # Full-width letters, as some keyboards and phones type them.
    assert same("\uff2d\uff41\uff52\uff4b Jones", "Mark Jones")
    assert same("José", "Jose\u0301")


def test_different_names_differ() -> None:
    assert not same("Mark Jones", "Marc Jones")
    assert among("anne byron", ["Lord Byron", "Anne Byron"])
    assert not among("Ann Byron", ["Anne Byron"])

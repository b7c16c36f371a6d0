"""Names compare folded: case, spacing and Unicode forms never tell two adults apart."""

from command.domain.names import among, folded, same


def test_case_and_spaces_fold() -> None:
    assert folded("  MARK   Jones ") == "mark jones"
    assert same("Mark Jones", "mark  jones")


def test_unicode_forms_fold() -> None:
    assert same("Ｍａｒｋ Jones", "Mark Jones")  # full-width letters, as some keyboards type
    assert same("José", "Jose\u0301")


def test_different_names_differ() -> None:
    assert not same("Mark Jones", "Marc Jones")
    assert among("anne byron", ["Lord Byron", "Anne Byron"])
    assert not among("Ann Byron", ["Anne Byron"])

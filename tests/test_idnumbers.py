import pytest

from models.idnumbers import id_problem, is_valid, mask, with_check_digit


@pytest.mark.parametrize("number", ["A123456789", "a123456789", " A1234 56789 ", "B-123456780",
                                    "Ａ１２３４５６７８９", "ａ１２３４５６７８９"])  # a phone's full-width
def test_valid_national_ids(number):
    assert is_valid("national_id", number)


@pytest.mark.parametrize("prefix", ["A12345678", "F23159764", "Z19999999", "I20000001", "O10000000"])
def test_generated_ids_pass_the_checksum(prefix):
    number = with_check_digit(prefix)
    assert is_valid("national_id", number)
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    assert id_problem("national_id", wrong) == "This national ID number's check digit is wrong."


@pytest.mark.parametrize("number,problem", [
    ("A123456788", "check digit"),
    ("A323456789", "one letter, then 1 or 2"),
    ("1123456789", "one letter"),
    ("A12345678", "one letter"),
    ("", "one letter"),
])
def test_invalid_national_ids(number, problem):
    assert problem in id_problem("national_id", number)


def test_new_style_resident_certificate():
    number = with_check_digit("A80000001")
    assert is_valid("resident_cert", number)
    assert not is_valid("national_id", number)
    assert "one letter, then 8 or 9" in id_problem("resident_cert", "A123456789")
    assert "check digit" in id_problem("resident_cert", number[:-1] + str((int(number[-1]) + 3) % 10))


def test_passport():
    assert is_valid("passport", "312345678")
    assert not is_valid("passport", "12-3")
    assert not is_valid("passport", "X" * 21)


def test_masking():
    assert mask("A123456789") == "A12****789"
    assert mask("312345678") == "312***678"
    assert mask("") == ""

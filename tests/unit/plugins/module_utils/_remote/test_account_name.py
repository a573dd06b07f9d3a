"""module_utils/_remote/account_name.py: user and group names as useradd/groupadd accept them (letter or
underscore first; letters, digits, '_', '.', '-'; at most 32; a trailing '$' for machine accounts),
numeric ids only when asked."""

import pytest

from ansible_collections.nixfleet.nixos.plugins.module_utils._remote.account_name import is_account_name


@pytest.mark.parametrize("name", ["root", "_apt", "nixbld1", "systemd-network", "first.last", "HOST01$", "a" * 32, "_"])
def test_valid_names(name):
    assert is_account_name(name) and is_account_name(name, numeric_ok=True)


@pytest.mark.parametrize(
    "name", ["", "a" * 33, "1abc", "-rf", ".hidden", "a b", "a;b", "a/b", "$", "a$b", "ü", "$(id)", "0"]
)
def test_invalid_names(name):
    assert not is_account_name(name)


def test_numeric_ids_only_when_asked():
    assert is_account_name("0", numeric_ok=True) and is_account_name("4294967295", numeric_ok=True)
    assert not is_account_name("12345678901", numeric_ok=True)  # 11 digits: more than any uid
    assert not is_account_name("-1", numeric_ok=True) and not is_account_name("1.5", numeric_ok=True)


@pytest.mark.parametrize("value", [None, 0, 1000, ["root"], b"root"])
def test_non_strings_are_never_names(value):
    assert not is_account_name(value) and not is_account_name(value, numeric_ok=True)


@pytest.mark.parametrize("value", ["root\n", "deploy\n", "_svc$\n"])
def test_a_trailing_newline_is_not_part_of_a_name(value):
    assert not is_account_name(value) and not is_account_name(value, numeric_ok=True)
    assert not is_account_name("0\n", numeric_ok=True)

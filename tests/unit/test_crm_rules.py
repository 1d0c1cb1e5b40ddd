"""Pure rules of the crm and identity modules: VIN check digits, E.164 phones, the permission table."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from blueprints.crm.vin import check_digit, normalise
from blueprints.identity.permissions import PERMISSIONS, ROLE_PERMISSIONS, ROLES
from shared.phone import to_e164

VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"


@pytest.mark.parametrize("vin", ["1M8GDM9AXKP042788", "11111111111111111", "1hgcm82633a004352"])
def test_valid_vins_are_accepted_and_upper_cased(vin: str) -> None:
    assert normalise(vin) == vin.upper()


@pytest.mark.parametrize("vin", ["1M8GDM9A1KP042788", "1M8GDM9AXKP04278", "1M8GDM9AXKP04278O", "IM8GDM9AXKP042788"])
def test_vins_with_a_wrong_check_digit_length_or_letter_are_refused(vin: str) -> None:
    with pytest.raises(ValueError):
        normalise(vin)


@given(st.text(alphabet=VIN_CHARS, min_size=17, max_size=17))
def test_setting_the_computed_check_digit_always_makes_a_valid_vin(body: str) -> None:
    vin = body[:8] + check_digit(body) + body[9:]
    assert normalise(vin) == vin


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("(512) 555-0134", "+15125550134"),
        ("512.555.0134", "+15125550134"),
        ("1 512 555 0134", "+15125550134"),
        ("+44 20 7946 0958", "+442079460958"),
        ("0044 20 7946 0958", "+442079460958"),
    ],
)
def test_phones_are_normalised_to_e164(raw: str, e164: str) -> None:
    assert to_e164(raw) == e164


@pytest.mark.parametrize("raw", ["555-0134", "(012) 555-0134", "512 155 0134", "+0123456789", "call me", "+1 512"])
def test_impossible_phones_are_refused(raw: str) -> None:
    with pytest.raises(ValueError):
        to_e164(raw)


def test_the_permission_table_encodes_the_rules_of_the_issue() -> None:
    assert set(ROLES) == {"owner", "admin", "estimator", "advisor", "tech", "accountant"}
    for manager in ("owner", "admin"):
        assert {"users.manage", "tenant.manage", "audit.read"} <= ROLE_PERMISSIONS[manager]
    assert "customers.read_all" not in ROLE_PERMISSIONS["estimator"]
    assert {"customers.read_all", "customers.update"} <= ROLE_PERMISSIONS["advisor"]
    for reader in ("tech", "accountant"):
        assert "customers.read_all" in ROLE_PERMISSIONS[reader]
        assert not {"customers.create", "customers.update", "customers.delete"} & ROLE_PERMISSIONS[reader]
    assert all(set(roles) <= set(ROLES) for roles in PERMISSIONS.values())


@given(
    area=st.integers(200, 999),
    exchange=st.integers(200, 999),
    line=st.integers(0, 9999),
    style=st.sampled_from(["({a}) {e}-{l}", "{a}-{e}-{l}", "{a}.{e}.{l}", "1 {a} {e} {l}", "+1{a}{e}{l}", "{a}{e}{l}"]),
)
def test_any_way_of_writing_a_nanp_number_gives_one_e164(area: int, exchange: int, line: int, style: str) -> None:
    typed = style.format(a=area, e=exchange, l=f"{line:04d}")
    assert to_e164(typed) == f"+1{area}{exchange}{line:04d}"

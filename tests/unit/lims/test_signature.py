from __future__ import annotations

import hashlib
import hmac
import pickle

import pytest

from ils.lims.signature import BadSignature, StaleSignature, sign, sign_rotating, verify

SECRET = b"whsec_current"
OLD = b"whsec_previous"
BODY = b'{"id":"evt_1","type":"job.accepted"}'
NOW = 1_790_000_000


def test_header_is_hmac_of_timestamp_dot_body() -> None:
    expected = hmac.new(SECRET, f"{NOW}.".encode() + BODY, hashlib.sha256).hexdigest()
    assert sign(SECRET, BODY, NOW) == f"t={NOW},v1={expected}"


def test_valid_signature_verifies() -> None:
    verify(sign(SECRET, BODY, NOW), BODY, [SECRET], now=NOW + 10)


def test_tampered_body_is_rejected() -> None:
    with pytest.raises(BadSignature):
        verify(sign(SECRET, BODY, NOW), BODY + b" ", [SECRET], now=NOW)


def test_wrong_secret_is_rejected() -> None:
    with pytest.raises(BadSignature):
        verify(sign(b"other", BODY, NOW), BODY, [SECRET], now=NOW)


def test_timestamp_is_bound_into_the_mac() -> None:
    header = sign(SECRET, BODY, NOW).replace(f"t={NOW}", f"t={NOW + 1}")
    with pytest.raises(BadSignature):
        verify(header, BODY, [SECRET], now=NOW)


@pytest.mark.parametrize("skew", [301, -301, 10_000])
def test_stale_timestamp_is_rejected(skew: int) -> None:
    with pytest.raises(StaleSignature) as info:
        verify(sign(SECRET, BODY, NOW), BODY, [SECRET], now=NOW + skew)
    assert info.value.status == 401
    assert info.value.code == "stale-signature"


@pytest.mark.parametrize("skew", [300, -300, 0])
def test_timestamp_inside_tolerance_is_accepted(skew: int) -> None:
    verify(sign(SECRET, BODY, NOW), BODY, [SECRET], now=NOW + skew)


def test_custom_tolerance() -> None:
    with pytest.raises(StaleSignature):
        verify(sign(SECRET, BODY, NOW), BODY, [SECRET], now=NOW + 61, tolerance_s=60)


def test_rotation_header_with_two_entries_verifies_against_either_secret() -> None:
    header = sign_rotating([OLD, SECRET], BODY, NOW)
    assert header.count("v1=") == 2
    verify(header, BODY, [SECRET], now=NOW)
    verify(header, BODY, [OLD], now=NOW)


def test_receiver_holding_old_and_new_secret_accepts_either_signer() -> None:
    verify(sign(OLD, BODY, NOW), BODY, [SECRET, OLD], now=NOW)
    verify(sign(SECRET, BODY, NOW), BODY, [SECRET, OLD], now=NOW)


def test_unknown_schemes_are_ignored_but_v1_is_required() -> None:
    good = sign(SECRET, BODY, NOW)
    verify(good + ",v0=deadbeef", BODY, [SECRET], now=NOW)
    with pytest.raises(BadSignature):
        verify(f"t={NOW},v0=deadbeef", BODY, [SECRET], now=NOW)


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "garbage",
        "v1=abc",
        "t=,v1=abc",
        "t=abc,v1=00",
        "t=-5,v1=00",
        f"t={NOW}",
        f"t={NOW},t={NOW},v1=00",
        f"t={NOW},v1=",
    ],
)
def test_malformed_headers_are_bad_signatures(header: str | None) -> None:
    with pytest.raises(BadSignature) as info:
        verify(header, BODY, [SECRET], now=NOW)
    assert info.value.status == 401
    assert info.value.code == "bad-signature"


def test_no_configured_secret_rejects() -> None:
    with pytest.raises(BadSignature):
        verify(sign(SECRET, BODY, NOW), BODY, [], now=NOW)


def test_bad_mac_reported_before_staleness() -> None:
    with pytest.raises(BadSignature):
        verify(sign(b"other", BODY, NOW), BODY, [SECRET], now=NOW + 10_000)


def test_uppercase_hex_is_accepted() -> None:
    t, mac = sign(SECRET, BODY, NOW).split(",")
    verify(f"{t},{mac.upper().replace('V1=', 'v1=')}", BODY, [SECRET], now=NOW)


def test_errors_survive_pickling() -> None:
    err = pickle.loads(pickle.dumps(BadSignature("x")))
    assert isinstance(err, BadSignature)
    assert err.problem()["type"] == "/problems/bad-signature"

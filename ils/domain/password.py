"""The password policy: at least 12 characters with upper, lower, digit and symbol, and not common.

"Common" is judged against a list the caller passes in (ils/domain/data/common_passwords.txt,
loaded by the identity service), both as typed and after the usual disguises are taken off:
case, leading/trailing digits and symbols ("Password2026!"), and look-alike substitutions
("P@ssw0rd"). A policy that only counted character classes would accept all of those.
"""

from __future__ import annotations

from ils.errors import FieldIssue

MIN_LENGTH = 12
MAX_LENGTH = 256

_LOOKALIKES = str.maketrans(
    {
        "@": "a",
        "4": "a",
        "0": "o",
        "1": "i",
        "!": "i",
        "3": "e",
        "$": "s",
        "5": "s",
        "7": "t",
        "+": "t",
        "8": "b",
        "9": "g",
    }
)


def password_core(password: str) -> str:
    """The password without case, edge digits/symbols and look-alike substitutions."""
    lowered = password.lower()
    start, end = 0, len(lowered)
    while start < end and not lowered[start].isalpha():
        start += 1
    while end > start and not lowered[end - 1].isalpha():
        end -= 1
    return lowered[start:end].translate(_LOOKALIKES)


def is_common(password: str, common: frozenset[str]) -> bool:
    lowered = password.lower()
    if lowered in common:
        return True
    core = password_core(password)
    # A core made of one listed word, possibly doubled ("summersummer"), is still that word.
    return bool(core) and (
        core in common
        or (
            len(core) % 2 == 0
            and core[: len(core) // 2] in common
            and core[: len(core) // 2] * 2 == core
        )
    )


def password_issues(
    password: str, pointer: str = "/password", common: frozenset[str] = frozenset()
) -> list[FieldIssue]:
    """Everything wrong with a proposed password (empty when it is acceptable)."""
    problems: list[FieldIssue] = []
    if len(password) < MIN_LENGTH:
        problems.append(
            FieldIssue(pointer, "password-too-short", f"use at least {MIN_LENGTH} characters")
        )
    if len(password) > MAX_LENGTH:
        problems.append(
            FieldIssue(pointer, "password-too-long", f"use at most {MAX_LENGTH} characters")
        )
    classes = {
        "password-needs-upper": (str.isupper, "an upper-case letter"),
        "password-needs-lower": (str.islower, "a lower-case letter"),
        "password-needs-digit": (str.isdigit, "a digit"),
    }
    for code, (test, what) in classes.items():
        if not any(test(ch) for ch in password):
            problems.append(FieldIssue(pointer, code, f"include {what}"))
    if not any(not ch.isalnum() and not ch.isspace() for ch in password):
        problems.append(FieldIssue(pointer, "password-needs-symbol", "include a symbol"))
    if common and is_common(password, common):
        problems.append(
            FieldIssue(pointer, "password-too-common", "this password is on a list of common ones")
        )
    return problems

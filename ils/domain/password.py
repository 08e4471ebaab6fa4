"""The password policy: at least 12 characters with upper, lower, digit and symbol."""

from __future__ import annotations

from ils.errors import FieldIssue

MIN_LENGTH = 12
MAX_LENGTH = 256


def password_issues(password: str, pointer: str = "/password") -> list[FieldIssue]:
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
    return problems

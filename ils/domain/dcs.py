"""Vision Council DCS (Data Communication Standard) records: parse and format orders.

A DCS record is plain ASCII, one ``LABEL=value`` per line; right and left values are ``R;L``
(DOMAIN.md). A body may hold several records: each ``JOB=`` line starts a new one. Labels ILS does
not know (frame traces ``TRCFMT``/``R=``, machine settings...) are ignored on import.

Labels ILS reads and writes (an empty side means "not given"):

======== =================================== ==========================================
label    order field                         notes
======== =================================== ==========================================
JOB      order_number (export)               starts a record
DO       both eyes                           ``B``; ILS orders are always for both eyes
SPH      rx.<eye>.sphere                     dioptres, two decimals
CYL      rx.<eye>.cylinder                   as ordered (either cylinder sign)
AX       rx.<eye>.axis                       whole degrees
ADD      rx.<eye>.add
PRVM     rx.<eye>.prism (amount)             the resultant of the eye's prism components
PRVA     rx.<eye>.prism (angle)              360-degree base direction, seen facing the
                                             patient: 0 = base in on the right eye and base
                                             out on the left, 90 = up, 270 = down
IPD      rx.<eye>.pd                         monocular; a binocular PD is ``64.00;``
NPD      rx.<eye>.near_pd
SEGHT    rx.<eye>.seg_height
BVD      rx.<eye>.vertex_distance            back vertex distance, mm
LNAM     lens.design                         lens (product) name
LIND     lens.material                       refractive index (1.50 CR-39 ... 1.74)
LTYPE    lens.type                           SV, FT (flat-top bifocal), PR, OC
HBOX     frame.a                             boxed width A
VBOX     frame.b                             boxed depth B
DBL      frame.dbl                           bridge
FED      frame.ed                            effective diameter
_PRACTICE  the ordering practice (import)    vendor-private, required by POST /import
_ORDERID   the ILS order id (export)
_PATIENT   patient_ref   _DUE  due_date   _PRIORITY  priority   _FRAMETYPE  frame.type
_COATINGS  lens.coatings, comma-separated   _NOTES  clinical_notes as a JSON string
======== =================================== ==========================================

Pure: no I/O; numbers are written with two decimals, so every value ILS accepts (0.25 D and
0.5 mm steps) round-trips exactly; a compound prism is split back into its horizontal and
vertical components, snapped to the 0.25 prism-dioptre grid when within 0.01 of it.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

LABEL = re.compile(r"^[A-Z][A-Z0-9_]*$|^_[A-Z0-9_]+$")
MAX_RECORDS = 500

LENS_TYPE_CODES = {
    "single_vision": "SV",
    "bifocal": "FT",
    "progressive": "PR",
    "occupational": "OC",
}
MATERIAL_INDEX = {
    "cr39": "1.50",
    "1.56": "1.56",
    "1.60": "1.60",
    "1.67": "1.67",
    "1.74": "1.74",
    "polycarbonate": "1.59",
    "trivex": "1.53",
}
#: (label, eye field) of the per-eye numbers written with two decimals.
EYE_NUMBERS = (
    ("SPH", "sphere"),
    ("CYL", "cylinder"),
    ("ADD", "add"),
    ("IPD", "pd"),
    ("NPD", "near_pd"),
    ("SEGHT", "seg_height"),
    ("BVD", "vertex_distance"),
)
FRAME_NUMBERS = (("HBOX", "a"), ("VBOX", "b"), ("DBL", "dbl"), ("FED", "ed"))
KNOWN = frozenset(
    {label for label, _ in EYE_NUMBERS}
    | {label for label, _ in FRAME_NUMBERS}
    | {"JOB", "DO", "AX", "PRVM", "PRVA", "LNAM", "LIND", "LTYPE"}
    | {"_PRACTICE", "_ORDERID", "_PATIENT", "_DUE", "_PRIORITY", "_FRAMETYPE", "_COATINGS"}
    | {"_NOTES"}
)


@dataclass(frozen=True)
class DcsError(ValueError):
    """A record ILS cannot read: which record, which label (or line), and why."""

    record: int
    label: str
    detail: str

    def __str__(self) -> str:
        return f"record {self.record}, {self.label}: {self.detail}"


def parse_records(text: str) -> list[dict[str, str]]:
    """Split a DCS body into records of ``label -> raw value`` (known labels only)."""
    records: list[dict[str, str]] = []
    current: dict[str, str] = {}
    for number, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        line = raw.strip()
        if not line:
            continue
        label, sep, value = line.partition("=")
        label = label.strip().upper()
        if not sep or not LABEL.match(label):
            raise DcsError(len(records), f"line {number}", "expected LABEL=value")
        if label == "JOB" and current:
            records.append(current)
            current = {}
        if label not in KNOWN:
            continue
        if label in current:
            raise DcsError(len(records), label, f"given twice (line {number})")
        current[label] = value.strip()
    if current:
        records.append(current)
    if not records:
        raise DcsError(0, "", "the body holds no DCS record")
    if len(records) > MAX_RECORDS:
        raise DcsError(MAX_RECORDS, "", f"at most {MAX_RECORDS} records per import")
    return records


def _sides(record: Mapping[str, str], label: str, index: int) -> tuple[str, str]:
    value = record.get(label, "")
    if not value:
        return "", ""
    right, sep, left = value.partition(";")
    if not sep:
        raise DcsError(index, label, "expected right;left values")
    return right.strip(), left.strip()


def _number(text: str, index: int, label: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise DcsError(index, label, f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise DcsError(index, label, f"{text!r} is not a number")
    return value


def _axis(text: str, index: int) -> int | None:
    value = _number(text, index, "AX")
    if value is None:
        return None
    if value != int(value):
        raise DcsError(index, "AX", "the axis is a whole number of degrees")
    return int(value)


def _snap(value: float, step: float = 0.25, within: float = 0.01) -> float:
    snapped = round(value / step) * step
    return (snapped if abs(snapped - value) <= within else round(value, 2)) + 0.0


def _prism_components(amount: float | None, angle: float | None, eye: str) -> list[dict[str, Any]]:
    """Split a compound prism (amount, 360-degree base angle) into base IN/OUT and UP/DOWN."""
    if not amount:
        return []
    theta = math.radians(angle or 0.0)
    across, up = _snap(amount * math.cos(theta)), _snap(amount * math.sin(theta))
    # Facing the patient, 0 degrees points to the observer's right: the right eye's nose side.
    toward_nose = across if eye == "od" else -across
    out: list[dict[str, Any]] = []
    if abs(toward_nose) > 0.005:
        out.append({"amount": abs(toward_nose), "base": "IN" if toward_nose > 0 else "OUT"})
    if abs(up) > 0.005:
        out.append({"amount": abs(up), "base": "UP" if up > 0 else "DOWN"})
    return out


def _compound_prism(components: list[Mapping[str, Any]], eye: str) -> tuple[float, float] | None:
    """The resultant (amount, 360-degree angle) of an eye's prism components."""
    toward_nose = up = 0.0
    for p in components:
        amount, base = float(p.get("amount") or 0.0), p.get("base")
        toward_nose += {"IN": amount, "OUT": -amount}.get(str(base), 0.0)
        up += {"UP": amount, "DOWN": -amount}.get(str(base), 0.0)
    across = toward_nose if eye == "od" else -toward_nose
    amount = math.hypot(across, up)
    if amount == 0:
        return None
    return amount, math.degrees(math.atan2(up, across)) % 360.0


def _eye(record: Mapping[str, str], index: int, side: int, eye: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, name in EYE_NUMBERS:
        value = _number(_sides(record, label, index)[side], index, label)
        if value is not None or name == "sphere":
            out[name] = value
    axis = _axis(_sides(record, "AX", index)[side], index)
    if axis is not None:
        out["axis"] = axis
    amount = _number(_sides(record, "PRVM", index)[side], index, "PRVM")
    angle = _number(_sides(record, "PRVA", index)[side], index, "PRVA")
    prism = _prism_components(amount, angle, eye)
    if prism:
        out["prism"] = prism
    if out.get("sphere") is None:
        raise DcsError(index, "SPH", f"the {eye} sphere is required")
    out.setdefault("cylinder", 0.0)
    return out


def _lens(record: Mapping[str, str], index: int) -> dict[str, Any]:
    code = _sides(record, "LTYPE", index)[0] or record.get("LTYPE", "")
    types = {v: k for k, v in LENS_TYPE_CODES.items()} | {"BI": "bifocal"}
    if code.upper() not in types:
        raise DcsError(index, "LTYPE", f"one of {sorted(LENS_TYPE_CODES.values())} is required")
    index_text = _sides(record, "LIND", index)[0]
    materials = {float(v): k for k, v in MATERIAL_INDEX.items()}
    material = materials.get(round(_number(index_text, index, "LIND") or 0.0, 2))
    if material is None:
        raise DcsError(index, "LIND", f"an index of {sorted(MATERIAL_INDEX.values())} is needed")
    coatings = [c.strip() for c in record.get("_COATINGS", "").split(",") if c.strip()]
    lens: dict[str, Any] = {"type": types[code.upper()], "material": material, "coatings": coatings}
    design = _sides(record, "LNAM", index)[0] or None
    if design:
        lens["design"] = design
    return lens


def _frame(record: Mapping[str, str], index: int) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": record.get("_FRAMETYPE", "full_rim") or "full_rim"}
    for label, name in FRAME_NUMBERS:
        raw = record.get(label, "")
        text = _sides(record, label, index)[0] if ";" in raw else raw
        value = _number(text, index, label)
        if value is not None:
            frame[name] = value
    return frame


def order_body(record: Mapping[str, str], index: int = 0) -> dict[str, Any]:
    """One parsed record as the body of ``POST /api/orders`` (without ``lab_id``), plus
    ``practice_id`` (from ``_PRACTICE``, may be None); :class:`DcsError` when unreadable."""
    if record.get("DO", "B").upper() != "B":
        raise DcsError(index, "DO", "ILS orders are for both eyes (DO=B)")
    notes = record.get("_NOTES")
    try:
        clinical_notes = json.loads(notes) if notes else None
    except ValueError:
        raise DcsError(index, "_NOTES", "expected a JSON string") from None
    return {
        "practice_id": record.get("_PRACTICE") or None,
        "patient_ref": record.get("_PATIENT") or record.get("JOB") or "",
        "due_date": record.get("_DUE") or None,
        "priority": (record.get("_PRIORITY") or "standard").lower(),
        "rx": {"od": _eye(record, index, 0, "od"), "os": _eye(record, index, 1, "os")},
        "lens": _lens(record, index),
        "frame": _frame(record, index),
        "clinical_notes": clinical_notes,
    }


def _fmt(value: Any) -> str:
    return "" if value is None else f"{float(value):.2f}"


def _pair(rx: Mapping[str, Any], name: str, fmt: Any = _fmt) -> str:
    return f"{fmt(rx['od'].get(name))};{fmt(rx['os'].get(name))}"


def format_order(order: Mapping[str, Any]) -> str:
    """An order (the order response, or a draft body) as one DCS record, CRLF line ends."""
    rx, lens, frame = order["rx"], order["lens"], order.get("frame") or {}
    lines = [f"JOB={order.get('order_number') or order.get('patient_ref', '')}", "DO=B"]
    for label, name in EYE_NUMBERS[:3]:
        lines.append(f"{label}={_pair(rx, name)}")
    lines.append(f"AX={_pair(rx, 'axis', lambda v: '' if v is None else str(int(v)))}")
    prisms = [_compound_prism(list(rx[eye].get("prism") or []), eye) for eye in ("od", "os")]
    if any(prisms):
        amounts = ";".join("" if p is None else f"{p[0]:.3f}" for p in prisms)
        angles = ";".join("" if p is None else f"{p[1]:.2f}" for p in prisms)
        lines += [f"PRVM={amounts}", f"PRVA={angles}"]
    for label, name in EYE_NUMBERS[3:]:
        if rx["od"].get(name) is not None or rx["os"].get(name) is not None:
            lines.append(f"{label}={_pair(rx, name)}")
    code, index = LENS_TYPE_CODES[str(lens["type"])], MATERIAL_INDEX[str(lens["material"])]
    lines += [f"LTYPE={code};{code}", f"LIND={index};{index}"]
    if lens.get("design"):
        lines.append(f"LNAM={lens['design']};{lens['design']}")
    for label, name in FRAME_NUMBERS:
        if frame.get(name) is not None:
            both = label in ("HBOX", "VBOX")
            value = _fmt(frame[name])
            lines.append(f"{label}={value};{value}" if both else f"{label}={value}")
    lines += _private(order)
    return "\r\n".join(lines) + "\r\n"


def _private(order: Mapping[str, Any]) -> list[str]:
    lens, frame = order["lens"], order.get("frame") or {}
    lines = []
    for label, value in (
        ("_ORDERID", order.get("id")),
        ("_PRACTICE", order.get("practice_id")),
        ("_PATIENT", order.get("patient_ref")),
        ("_DUE", order.get("due_date")),
        ("_PRIORITY", order.get("priority")),
        ("_FRAMETYPE", frame.get("type")),
    ):
        if value:
            lines.append(f"{label}={value}")
    if lens.get("coatings"):
        lines.append("_COATINGS=" + ",".join(str(c) for c in lens["coatings"]))
    if order.get("clinical_notes") is not None:
        lines.append("_NOTES=" + json.dumps(order["clinical_notes"]))
    return lines

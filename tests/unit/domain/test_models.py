"""Parsing the order draft of API.md: strict numbers, closed vocabularies, normalisation."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import ValidationError

from ils.domain.lens import Coating, LensType, Material
from ils.domain.order import OrderDraft, Priority
from ils.domain.rx import EyeRx, PrismBase
from ils.domain.validation import issues_from_pydantic

API_EXAMPLE = {
    "lab_id": "0b8f6b4e-8d0e-4a57-9b1e-2f0c3a1d9e11",
    "patient_ref": "P-1042",
    "due_date": "2026-12-10",
    "priority": "standard",
    "rx": {
        "od": {
            "sphere": -2.25,
            "cylinder": -0.75,
            "axis": 180,
            "add": 2.00,
            "prism": [{"amount": 1.0, "base": "IN"}],
            "pd": 31.5,
            "near_pd": 30.0,
            "seg_height": 18.0,
        },
        "os": {
            "sphere": -2.00,
            "cylinder": -0.50,
            "axis": 175,
            "add": 2.00,
            "pd": 32.0,
            "seg_height": 18.0,
        },
    },
    "lens": {"type": "progressive", "material": "1.67", "coatings": ["ar", "hard"]},
    "frame": {"type": "full_rim", "a": 52.0, "b": 30.0, "dbl": 18.0, "ed": 56.0},
    "clinical_notes": "optional free text",
}


def _with(path: str, value: Any) -> dict[str, Any]:
    body = json.loads(json.dumps(API_EXAMPLE))
    *parents, leaf = path.strip("/").split("/")
    node = body
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    node[leaf] = value
    return body


def test_api_example_parses_from_json_and_from_python_alike() -> None:
    from_json = OrderDraft.model_validate_json(json.dumps(API_EXAMPLE))
    from_python = OrderDraft.model_validate(API_EXAMPLE)
    assert from_json == from_python
    assert from_json.lens.type is LensType.PROGRESSIVE
    assert from_json.lens.material is Material.INDEX_167
    assert from_json.lens.coatings == (Coating.AR, Coating.HARD)
    assert from_json.rx.od.prism[0].base is PrismBase.IN
    assert from_json.priority is Priority.STANDARD


def test_dump_round_trips_with_the_api_field_names() -> None:
    draft = OrderDraft.model_validate(API_EXAMPLE)
    dumped = json.loads(draft.model_dump_json(exclude_none=True))
    assert dumped["rx"]["od"]["prism"] == [{"amount": 1.0, "base": "IN"}]
    assert set(dumped) == set(API_EXAMPLE)
    assert OrderDraft.model_validate(dumped) == draft


def test_priority_defaults_to_standard() -> None:
    body = dict(API_EXAMPLE)
    del body["priority"]
    assert OrderDraft.model_validate(body).priority is Priority.STANDARD


@pytest.mark.parametrize(
    ("path", "value", "code"),
    [
        ("/rx/od/sphere", "-2.25", "float-type"),
        ("/rx/od/cylinder", True, "float-type"),
        ("/rx/od/axis", 30.5, "int-type"),
        ("/rx/od/axis", "30", "int-type"),
        ("/rx/od/pd", "31.5", "float-type"),
        ("/frame/b", "30", "float-type"),
        ("/lens/type", "trifocal_deluxe", "enum"),
        ("/rx/od/prism/0/base", "LEFT", "enum"),
        ("/rx/od/colour", "blue", "extra-forbidden"),
        ("/lab_id", "not-a-uuid", "uuid-parsing"),
    ],
)
def test_schema_errors_become_pointed_issues(path: str, value: Any, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        OrderDraft.model_validate_json(json.dumps(_with(path, value)))
    issues = issues_from_pydantic(caught.value)
    assert [(i.pointer, i.code) for i in issues] == [(path, code)]


def test_ints_are_accepted_for_powers() -> None:
    eye = EyeRx.model_validate({"sphere": -2, "cylinder": 1, "axis": 90})
    assert (eye.sphere, eye.cylinder) == (-2.0, 1.0)


def test_nan_is_refused() -> None:
    with pytest.raises(ValidationError):
        EyeRx.model_validate({"sphere": float("nan")})


@pytest.mark.parametrize("word", ["plano", "PLANO", " Plano "])
def test_plano_sphere_means_zero(word: str) -> None:
    assert EyeRx.model_validate({"sphere": word}).sphere == 0.0


def test_other_words_for_sphere_are_refused() -> None:
    with pytest.raises(ValidationError):
        EyeRx.model_validate({"sphere": "pl"})


def test_axis_zero_is_normalised_to_180() -> None:
    assert EyeRx.model_validate({"sphere": 0, "cylinder": -1, "axis": 0}).axis == 180


def test_models_are_frozen() -> None:
    eye = EyeRx.model_validate({"sphere": 1.0})
    with pytest.raises(ValidationError):
        eye.sphere = 2.0  # type: ignore[misc]

"""Draft values from a post-call payload (pure): the agent's data collection first, the transcript parser else."""

from __future__ import annotations

import json
from decimal import Decimal

from blueprints.estimates.voice_drafts import drafts_from_payload

TRANSCRIPT = [
    {"role": "agent", "message": "Which room?", "time_in_call_secs": 0},
    {"role": "user", "message": "Kitchen, ten by twelve, no ceiling.", "time_in_call_secs": 3},
    {"role": "agent", "message": "Next?", "time_in_call_secs": 8},
    {"role": "user", "message": "The den is nine by eleven with two windows.", "time_in_call_secs": 11},
]


def _payload(collected: object = None) -> dict:
    results = (
        {} if collected is None else {"rooms": {"data_collection_id": "rooms", "value": collected, "rationale": "x"}}
    )
    return {
        "type": "post_call_transcription",
        "data": {
            "conversation_id": "conv_9",
            "transcript": TRANSCRIPT,
            "analysis": {"data_collection_results": results},
        },
    }


def test_without_data_collection_the_transcript_is_parsed_with_provenance() -> None:
    drafts = drafts_from_payload(_payload())
    assert [(d["name"], d["source"]) for d in drafts] == [("Kitchen", "transcript"), ("Den", "transcript")]
    kitchen = drafts[0]
    assert (kitchen["length_ft"], kitchen["width_ft"], kitchen["surfaces"]) == (
        Decimal(10), Decimal(12), [{"kind": "walls", "coats": 2}]
    )  # fmt: skip
    assert kitchen["provenance"] == {
        "conversation_id": "conv_9", "source": "transcript", "quote": "Kitchen, ten by twelve, no ceiling",
        "turn_index": 1, "time_in_call_secs": 3,
    }  # fmt: skip
    assert drafts[1]["windows"] == 2 and drafts[1]["provenance"]["turn_index"] == 3


def test_data_collection_comes_first_and_finds_the_turn_it_was_said_in() -> None:
    rooms = [{"name": "Den", "length_ft": 9, "width_ft": 11.5, "height_ft": 8, "doors": 1, "windows": 2}]
    (den,) = drafts_from_payload(_payload(json.dumps(rooms)))
    assert (den["source"], den["length_ft"], den["width_ft"], den["doors"]) == (
        "data_collection", Decimal(9), Decimal("11.5"), 1
    )  # fmt: skip
    assert den["provenance"]["turn_index"] == 3 and den["provenance"]["time_in_call_secs"] == 11
    assert den["provenance"]["quote"] == "The den is nine by eleven with two windows."


def test_data_collection_in_words_is_read_by_the_parser() -> None:
    (office,) = drafts_from_payload(_payload("Office twelve by twelve, walls only"))
    assert (office["name"], office["source"], office["surfaces"]) == (
        "Office", "data_collection", [{"kind": "walls", "coats": 2}]
    )  # fmt: skip


def test_an_unusable_data_collection_value_falls_back_to_the_transcript() -> None:
    for value in ("", json.dumps({"not": "a list"}), 42):
        assert [d["source"] for d in drafts_from_payload(_payload(value))] == ["transcript", "transcript"]


def test_a_payload_missing_its_parts_makes_no_drafts_and_does_not_fail() -> None:
    assert drafts_from_payload({}) == []
    assert drafts_from_payload({"data": {"transcript": "not a list", "analysis": None}}) == []

"""The spoken-room parser, table-tested: what an estimator says and the rooms it must produce."""

from __future__ import annotations

from decimal import Decimal

import pytest

from blueprints.estimates.voice_parser import Turn, normalise, parse_text, parse_turns, read_room

WC = (("walls", 2), ("ceiling", 2))  # the default surfaces: walls and ceiling, two coats each
W = (("walls", 2),)


def room(name: str, length: str | None, width: str | None, height: str | None = None, doors: int = 0,
         windows: int = 0, surfaces: tuple[tuple[str, int], ...] = WC) -> tuple:  # fmt: skip
    """A room as the table states it."""
    d = lambda v: None if v is None else Decimal(v)  # noqa: E731
    return (name, d(length), d(width), d(height), doors, windows, surfaces)


def rooms_of(text: str) -> list[tuple]:
    return [
        (r.name, r.length_ft, r.width_ft, r.height_ft, r.doors, r.windows, tuple((s.kind, s.coats) for s in r.surfaces))
        for r in parse_text(text)
    ]


TABLE: list[tuple[str, list[tuple]]] = [
    # the issue's own example
    ("Living room, twelve by fourteen, eight foot ceilings, walls two coats, one door, two windows",
     [room("Living room", "12", "14", "8", 1, 2)]),
    # numbers in digits, "x", "by", "times"
    ("kitchen 10 x 12", [room("Kitchen", "10", "12")]),
    ("kitchen 10x12", [room("Kitchen", "10", "12")]),
    ("Kitchen is ten by twelve", [room("Kitchen", "10", "12")]),
    ("den eleven times thirteen", [room("Den", "11", "13")]),
    ("office 9 by 10 feet", [room("Office", "9", "10")]),
    ("the dining room is 12 feet by 15 feet", [room("Dining room", "12", "15")]),
    ("family room twenty two by eighteen", [room("Family room", "22", "18")]),
    ("great room thirty-one by twenty-four", [room("Great room", "31", "24")]),
    # halves, feet and inches
    ("bathroom eight and a half by ten", [room("Bathroom", "8.5", "10")]),
    ("hallway 3.5 by 20", [room("Hallway", "3.5", "20")]),
    ("primary bedroom fourteen feet six inches by twelve feet",
     [room("Primary bedroom", "14.5", "12")]),
    ("Nursery 10' 6\" by 11'", [room("Nursery", "10.5", "11")]),
    ("study twelve foot six by ten", [room("Study", "12.5", "10")]),
    ("guest bedroom 11 feet 3 inches x 12 feet 9 inches", [room("Guest bedroom", "11.25", "12.75")]),
    ("foyer six by eight feet, nine foot ceilings", [room("Foyer", "6", "8", "9")]),
    # ceiling heights
    ("den 12 by 12, 9 foot ceilings", [room("Den", "12", "12", "9")]),
    ("den 12 by 12, ceilings are nine feet", [room("Den", "12", "12", "9")]),
    ("den 12 by 12, ceiling height of ten", [room("Den", "12", "12", "10")]),
    ("den 12 by 12 with 8-foot ceilings", [room("Den", "12", "12", "8")]),
    ("den 12 by 12, the walls are nine and a half feet tall", [room("Den", "12", "12", "9.5")]),
    ("basement 20 by 30, seven foot six ceilings", [room("Basement", "20", "30", "7.5")]),
    # coats
    ("office 10 by 10, walls two coats", [room("Office", "10", "10")]),
    ("office 10 by 10, two coats", [room("Office", "10", "10")]),
    ("office 10 by 10, one coat on the walls", [room("Office", "10", "10", surfaces=(("walls", 1), ("ceiling", 2)))]),
    ("office 10 by 10, ceiling one coat", [room("Office", "10", "10", surfaces=(("walls", 2), ("ceiling", 1)))]),
    ("office 10 by 10, three coats on the walls and one coat for the ceiling",
     [room("Office", "10", "10", surfaces=(("walls", 3), ("ceiling", 1)))]),
    ("office 10 by 10, walls get a single coat", [room("Office", "10", "10", surfaces=(("walls", 1), ("ceiling", 2)))]),
    # which surfaces
    ("kitchen 10 by 12, no ceiling", [room("Kitchen", "10", "12", surfaces=W)]),
    ("kitchen 10 by 12, skip the ceiling, two coats", [room("Kitchen", "10", "12", surfaces=W)]),
    ("kitchen 10 by 12, walls only, one coat", [room("Kitchen", "10", "12", surfaces=(("walls", 1),))]),
    ("kitchen 10 by 12, just the ceiling", [room("Kitchen", "10", "12", surfaces=(("ceiling", 2),))]),
    ("kitchen 10 by 12, and the trim", [room("Kitchen", "10", "12", surfaces=(*WC, ("trim", 2)))]),
    ("kitchen 10 by 12, baseboards one coat, no ceiling",
     [room("Kitchen", "10", "12", surfaces=(("walls", 2), ("trim", 1)))]),
    ("kitchen 10 by 12, no trim", [room("Kitchen", "10", "12")]),
    # doors and windows
    ("bedroom 10 by 12, two doors and three windows", [room("Bedroom", "10", "12", doors=2, windows=3)]),
    ("bedroom 10 by 12, a door, no windows", [room("Bedroom", "10", "12", doors=1)]),
    ("bedroom 10 by 12 with 2 closet doors and a window", [room("Bedroom", "10", "12", doors=2, windows=1)]),
    ("bedroom 10 by 12, door and window", [room("Bedroom", "10", "12", doors=1, windows=1)]),
    ("bedroom 10 by 12, 4 windows", [room("Bedroom", "10", "12", windows=4)]),
    # several rooms, numbered rooms, corrections, missing sizes
    ("kitchen ten by twelve. dining room twelve by fourteen, no ceiling",
     [room("Kitchen", "10", "12"), room("Dining room", "12", "14", surfaces=W)]),
    ("bedroom one 10 by 11, bedroom two 12 by 12",
     [room("Bedroom", "10", "11"), room("Bedroom 2", "12", "12")]),
    ("bedroom 10 by 11. second bedroom 9 by 10. another bedroom 8 by 9",
     [room("Bedroom", "10", "11"), room("Bedroom 2", "9", "10"), room("Bedroom 3", "8", "9")]),
    ("living room twelve by fourteen, no wait, thirteen by fourteen", [room("Living room", "13", "14")]),
    ("laundry room, I didn't measure it", [room("Laundry room", None, None)]),
    ("mudroom six by eight, powder room five by five, one coat",
     [room("Mudroom", "6", "8"), room("Powder room", "5", "5", surfaces=(("walls", 1), ("ceiling", 2)))]),
    ("um so let's start, nothing to note yet", []),
]  # fmt: skip


@pytest.mark.parametrize(("said", "expected"), TABLE, ids=[said[:48] for said, _ in TABLE])
def test_spoken_phrasing_makes_these_rooms(said: str, expected: list[tuple]) -> None:
    assert rooms_of(said) == expected


def test_the_table_has_at_least_forty_phrasings() -> None:
    assert len(TABLE) >= 40


def test_number_words_become_digits() -> None:
    assert normalise("Twenty-two and a half by one hundred") == "22.5 by 100"


def test_a_room_runs_across_turns_and_keeps_where_it_was_said() -> None:
    # given a room named in one turn and measured in the next, with the agent's turn between
    turns = [
        Turn(index=0, role="agent", message="Which room is next?", time_in_call_secs=0),
        Turn(index=1, role="user", message="The kitchen.", time_in_call_secs=4),
        Turn(index=2, role="agent", message="How big is the kitchen? Twelve by fourteen?", time_in_call_secs=6),
        Turn(index=3, role="user", message="Ten by twelve, no ceiling.", time_in_call_secs=9),
    ]
    # when
    (kitchen,) = parse_turns(turns)
    # then the agent's words are not the estimator's, and the quote holds both of the estimator's turns
    assert (kitchen.length_ft, kitchen.width_ft) == (Decimal(10), Decimal(12))
    assert [s.kind for s in kitchen.surfaces] == ["walls"]
    assert (kitchen.turn_index, kitchen.time_in_call_secs) == (1, 4)
    assert kitchen.quote == "The kitchen … Ten by twelve, no ceiling"


def test_a_room_named_by_the_agent_is_read_from_its_words_whatever_its_name() -> None:
    # given a name the vocabulary does not know, as an add_room tool call names it
    room = read_room("Bob's workshop", "twelve by fourteen, nine foot ceilings, no ceiling paint, trim one coat")
    assert (room.length_ft, room.width_ft, room.height_ft) == (Decimal(12), Decimal(14), Decimal(9))
    assert [(s.kind, s.coats) for s in room.surfaces] == [("walls", 2), ("trim", 1)]
    # and with no words at all, the default surfaces
    assert [(s.kind, s.coats) for s in read_room("Den", "").surfaces] == [("walls", 2), ("ceiling", 2)]

"""Rooms from the words an estimator spoke: a pure parser of transcript text, no I/O.

"Living room, twelve by fourteen, eight foot ceilings, walls two coats, one door, two windows" becomes a room
named "Living room", 12 x 14 ft, 8 ft high, one door, two windows, walls with two coats and the ceiling with
two. Numbers may be words or digits ("twelve and a half", "12.5", "twelve foot six", "12' 6\""); sizes are
"by", "x" or "times"; a room starts at a room word (kitchen, primary bedroom, second bedroom, ...) and runs,
across the estimator's turns, until the next one; a later figure for the same thing wins ("no wait, thirteen
by fourteen"). Surfaces: walls and ceiling unless told otherwise ("no ceiling", "walls only", "ceiling
only"), trim when it is named; coats bind to the surface named next to them, else to the walls.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

DEFAULT_COATS = 2
MAX_FEET = Decimal(1000)

_UNITS = {
    "zero": 0, "oh": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
    "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
    "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19,
}  # fmt: skip
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_ORDINALS = {"second": 2, "third": 3, "fourth": 4, "fifth": 5, "2nd": 2, "3rd": 3, "4th": 4, "5th": 5}
_NUMBER_WORD = re.compile(
    r"\b(?:(?P<tens>" + "|".join(_TENS) + r")(?:[\s-](?P<unit>" + "|".join(k for k in _UNITS if _UNITS[k]) + r"))?"
    r"|(?P<single>" + "|".join(sorted(_UNITS, key=len, reverse=True)) + r"))"
    r"(?:\s+hundred(?:\s+(?:and\s+)?(?P<rest>\d+))?)?\b"
)
# Room words, longest first so "living room" wins over "room"; each maps to the name a draft gets.
_ROOM_WORDS: dict[str, str] = {
    "living room": "Living room", "family room": "Family room", "dining room": "Dining room",
    "great room": "Great room", "sun room": "Sunroom", "sunroom": "Sunroom", "bonus room": "Bonus room",
    "laundry room": "Laundry room", "laundry": "Laundry room", "mud room": "Mudroom", "mudroom": "Mudroom",
    "powder room": "Powder room", "play room": "Playroom", "playroom": "Playroom", "media room": "Media room",
    "primary bedroom": "Primary bedroom", "master bedroom": "Primary bedroom", "guest bedroom": "Guest bedroom",
    "kids bedroom": "Kids bedroom", "bedroom": "Bedroom", "primary bathroom": "Primary bathroom",
    "master bathroom": "Primary bathroom", "master bath": "Primary bathroom", "half bath": "Half bath",
    "guest bathroom": "Guest bathroom", "bathroom": "Bathroom", "kitchen": "Kitchen", "hallway": "Hallway",
    "hall": "Hallway", "entryway": "Entry", "entry": "Entry", "foyer": "Foyer", "office": "Office", "den": "Den",
    "study": "Study", "nursery": "Nursery", "basement": "Basement", "garage": "Garage", "stairwell": "Stairwell",
    "closet": "Closet", "pantry": "Pantry", "attic": "Attic",
}  # fmt: skip
_ROOM = re.compile(
    r"\b(?:(?P<ordinal>second|third|fourth|fifth|2nd|3rd|4th|5th|another|other)\s+)?"
    r"(?P<room>" + "|".join(re.escape(w) for w in sorted(_ROOM_WORDS, key=len, reverse=True)) + r")s?"
    r"(?!\s+(?:doors?|windows?)\b)"
    r"(?:\s+(?:number\s+)?(?P<suffix>[1-9]|one|two|three|four|five)\b(?![.\d])"
    r"(?!\s+(?:coats?|doors?|windows?|by|x|foot|feet|ft)\b))?",
    re.IGNORECASE,
)
_NUM = r"(\d+(?:\.\d+)?)"
_FEET = r"(?:\s*(?:feet|foot|ft\.?|')\s*)"
_INCHES = r"(?:\s*(?:inches|inch|in\b\.?|\"|'')\s*)"
# A length: 12 | 12.5 | 12 feet | 12 feet 6 inches | 12' 6" | 12 foot 6
_LENGTH = (
    _NUM
    + r"(?:"
    + _FEET
    + r"(?:(?:and\s+)?(\d{1,2})(?:"
    + _INCHES
    + r"|(?=\s*(?:by\b|x\b|×|times\b|ceilings?\b|high\b|tall\b|,|$))))?|"
    + _INCHES
    + r")?"
)
_DIMENSIONS = re.compile(_LENGTH + r"\s*(?:by|x|×|times)\s*" + _LENGTH, re.IGNORECASE)
_HEIGHT = [
    re.compile(_LENGTH + r"\s*(?:high|tall)?\s*(?:ceilings?|ceiling height)", re.IGNORECASE),
    re.compile(r"ceilings?(?:\s+height)?\s*(?:are|is|of|at|about|around|=)?\s*" + _LENGTH, re.IGNORECASE),
    re.compile(r"(?:walls?\s+(?:are\s+)?)?" + _LENGTH + r"\s*(?:high|tall)\b", re.IGNORECASE),
    re.compile(r"height\s*(?:is|of)?\s*" + _LENGTH, re.IGNORECASE),
]
_COUNT = r"(\d+|a|an|no|single)"
_DOORS = re.compile(_COUNT + r"\s+(?:\w+\s+)?doors?\b", re.IGNORECASE)
_WINDOWS = re.compile(_COUNT + r"\s+(?:\w+\s+)?windows?\b", re.IGNORECASE)
_SURFACE = r"(walls?|ceilings?|trim|baseboards?)"
_COATS = re.compile(r"(\d+|a|single|one)\s+coats?\b", re.IGNORECASE)
_NO_SURFACE = re.compile(r"\b(?:no|skip(?:\s+the)?|not\s+the|without(?:\s+the)?)\s+" + _SURFACE, re.IGNORECASE)
_ONLY = re.compile(r"\b(?:just\s+(?:the\s+)?|only\s+(?:the\s+)?)?" + _SURFACE + r"\s+only\b|\bjust\s+(?:the\s+)?"
                   + _SURFACE + r"\b|\bonly\s+(?:the\s+)?" + _SURFACE + r"\b", re.IGNORECASE)  # fmt: skip
_MENTION = re.compile(r"\b" + _SURFACE + r"\b", re.IGNORECASE)


@dataclass
class SpokenSurface:
    """A surface to paint and its coats, as said."""

    kind: str
    coats: int = DEFAULT_COATS


@dataclass
class SpokenRoom:
    """A room as the estimator described it, with where in the call it was said."""

    name: str
    length_ft: Decimal | None = None
    width_ft: Decimal | None = None
    height_ft: Decimal | None = None
    doors: int = 0
    windows: int = 0
    surfaces: list[SpokenSurface] = field(default_factory=list)
    quote: str = ""
    turn_index: int | None = None
    time_in_call_secs: int | None = None


@dataclass(frozen=True)
class Turn:
    """One turn of a transcript: who spoke, what, and when (seconds into the call)."""

    index: int
    role: str
    message: str
    time_in_call_secs: int | None = None


def _word_number(match: re.Match[str]) -> str:
    if match.group("tens"):
        value = _TENS[match.group("tens").lower()] + _UNITS.get((match.group("unit") or "zero").lower(), 0)
    else:
        value = _UNITS[match.group("single").lower()]
    if match.group(0).lower().find("hundred") >= 0:
        value = value * 100 + int(match.group("rest") or 0)
    return str(value)


def normalise(text: str) -> str:
    """Lower case, number words as digits, "and a half" as .5, dashes and commas as spaces."""
    text = text.lower().replace("\u2019", "'").replace("\u201d", '"').replace("\u2033", '"').replace("\u2032", "'")
    text = re.sub(r"(?<=\d),(?=\d{3}\b)", "", text)
    text = re.sub(r"[;!?]|(?<!\d)\.(?!\d)|\.(?=\s|$)", " , ", text)
    text = text.replace(",", " , ")
    text = _NUMBER_WORD.sub(_word_number, text)
    text = re.sub(r"(\d+)\s+and\s+(?:a\s+)?half\b", lambda m: f"{m.group(1)}.5", text)
    text = re.sub(r"(\d+)\s+and\s+(?:a\s+)?quarter\b", lambda m: f"{m.group(1)}.25", text)
    text = re.sub(r"(\d)\s*-\s*(?=[a-z])", r"\1 ", text)  # "8-foot" -> "8 foot"
    text = re.sub(r"(\d)x(\d)", r"\1 x \2", text)
    return re.sub(r"\s+", " ", text).strip()


def _feet(whole: str, inches: str | None) -> Decimal:
    value = Decimal(whole) + (Decimal(inches) / 12 if inches else 0)
    return value.quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)


def _count(word: str) -> int:
    word = word.lower()
    if word in ("a", "an", "single"):
        return 1
    if word == "no":
        return 0
    return min(int(word), 100)


def _kind(word: str) -> str:
    word = word.lower()
    if word.startswith("wall"):
        return "walls"
    if word.startswith("ceiling"):
        return "ceiling"
    return "trim"


def _room_name(match: re.Match[str], seen: dict[str, int]) -> str:
    base = _ROOM_WORDS[match.group("room").lower()]
    ordinal, suffix = (match.group("ordinal") or "").lower(), (match.group("suffix") or "").lower()
    number = _ORDINALS.get(ordinal) or (int(_UNITS.get(suffix, suffix)) if suffix else None)
    if ordinal in ("another", "other"):
        number = seen.get(base, 1) + 1
    return f"{base} {number}" if number and number > 1 else base


def _apply(room: SpokenRoom, text: str) -> None:
    """Read one stretch of normalised words about a room into it (later figures win)."""
    remaining = text
    for match in _DIMENSIONS.finditer(text):
        room.length_ft, room.width_ft = _feet(match.group(1), match.group(2)), _feet(match.group(3), match.group(4))
        remaining = remaining.replace(match.group(0), " ")
    surfaces = _surfaces(room, remaining)
    for match in _COATS.finditer(remaining):
        remaining = remaining.replace(match.group(0), " coats-said ")
    for pattern in _HEIGHT:
        found = list(pattern.finditer(remaining))
        if found:
            room.height_ft = _feet(found[-1].group(1), found[-1].group(2))
            break
    for match in _DOORS.finditer(remaining):
        room.doors = _count(match.group(1))
    for match in _WINDOWS.finditer(remaining):
        room.windows = _count(match.group(1))
    if not _DOORS.search(remaining) and re.search(r"\bdoors?\b", remaining) and room.doors == 0:
        room.doors = 1
    if not _WINDOWS.search(remaining) and re.search(r"\bwindows?\b", remaining) and room.windows == 0:
        room.windows = 1
    room.surfaces = surfaces


def _surfaces(room: SpokenRoom, text: str) -> list[SpokenSurface]:
    """The room's surfaces after these words: exclusions, "only", mentions of trim, and coats."""
    current = {s.kind: s.coats for s in room.surfaces} or {"walls": DEFAULT_COATS, "ceiling": DEFAULT_COATS}
    excluded = {_kind(m.group(1)) for m in _NO_SURFACE.finditer(text)}
    only = [m for m in _ONLY.finditer(text)]
    if only:
        kinds = {_kind(next(g for g in m.groups() if g)) for m in only}
        current = {kind: current.get(kind, DEFAULT_COATS) for kind in kinds}
    for match in _MENTION.finditer(text):
        kind = _kind(match.group(1))
        if kind == "trim" and kind not in excluded:
            current.setdefault("trim", DEFAULT_COATS)
    for match in _COATS.finditer(text):
        kind = _coated_kind(text, match)
        if kind not in excluded:
            current[kind] = _count(match.group(1))
    for kind in excluded:
        current.pop(kind, None)
    order = ["walls", "ceiling", "trim"]
    return [SpokenSurface(kind=kind, coats=max(1, min(current[kind], 5))) for kind in order if kind in current]


def _coated_kind(text: str, match: re.Match[str]) -> str:
    """The surface a "two coats" belongs to: the one named right after it ("two coats on the walls"), else the
    one named right before it ("ceiling one coat"), else the walls."""
    rest = text[match.end() :]
    after = re.match(r"\s*(?:of\s+paint\s+)?(?:on|for|to)\s+(?:the\s+)?" + _SURFACE, rest)
    if after:
        return _kind(after.group(1))
    before = re.search(_SURFACE + r"\s*,?\s*(?:get|gets|need|needs|with|at|:)?\s*,?\s*$", text[: match.start()])
    if before:
        return _kind(before.group(1))
    after = re.match(r"\s*(?:of\s+paint\s+)?(?:the\s+)?" + _SURFACE, rest)
    return _kind(after.group(1)) if after else "walls"


def parse_turns(turns: list[Turn]) -> list[SpokenRoom]:
    """The rooms the estimator (the user's turns) described, in the order first named; each with its quote."""
    rooms: dict[str, SpokenRoom] = {}
    seen: dict[str, int] = {}
    current: SpokenRoom | None = None
    for turn in turns:
        if turn.role != "user" or not turn.message.strip():
            continue
        carried = ""
        pieces = _split(turn.message)
        for name_match, words in pieces:
            if name_match is None:
                if current is not None and not (len(pieces) > 1 and _lead_in(words)):
                    _add_words(current, words)
                else:  # a lead-in to the turn's first room ("The kitchen", "Next is the den") is part of its quote
                    carried = words
                continue
            words, carried = carried + words, ""
            name = _room_name(name_match, seen)
            base = _ROOM_WORDS[name_match.group("room").lower()]
            seen[base] = max(seen.get(base, 0), int(name.rsplit(" ", 1)[1]) if name != base else 1)
            current = rooms.get(name)
            if current is None:
                current = rooms[name] = SpokenRoom(
                    name=name, turn_index=turn.index, time_in_call_secs=turn.time_in_call_secs
                )
            _add_words(current, words)
    return list(rooms.values())


def _lead_in(words: str) -> bool:
    """A few words before a room word with no figure or surface in them: they introduce it ("And the")."""
    said = r"\d|\b(?:" + "|".join(_UNITS) + r"|no|doors?|windows?|coats?|walls?|ceilings?|trim|only)\b"
    return not re.search(said, words.lower()) and len(words.split()) <= 4


def _add_words(room: SpokenRoom, words: str) -> None:
    words = words.strip(" ,.;")
    if not words:
        return
    room.quote = f"{room.quote} … {words}" if room.quote else words
    _apply(room, normalise(words))


def _split(message: str) -> list[tuple[re.Match[str] | None, str]]:
    """A turn's words cut at each room word: (the room word's match or None for words before the first, words)."""
    matches = list(_ROOM.finditer(message))
    pieces: list[tuple[re.Match[str] | None, str]] = []
    start = 0
    if matches and matches[0].start() > 0:
        pieces.append((None, message[: matches[0].start()]))
    elif not matches:
        return [(None, message)]
    for i, match in enumerate(matches):
        end = matches[i + 1].start() if i + 1 < len(matches) else len(message)
        pieces.append((match, message[match.start() : end]))
        start = end
    del start
    return pieces


def read_room(name: str, words: str) -> SpokenRoom:
    """One named room from words about it (the agent's tool call gives the name; the words fill in the rest)."""
    room = SpokenRoom(name=name)
    _add_words(room, words)
    if not room.surfaces:
        room.surfaces = _surfaces(room, "")
    return room


def parse_text(text: str) -> list[SpokenRoom]:
    """The rooms described in one stretch of text (the estimator's words only)."""
    return parse_turns([Turn(index=0, role="user", message=text)])

"""Pure messaging rules: quiet hours, the recipient's time zone, the SMS footer, templates and keywords."""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# The law's window (TCPA: no texts before 8 am or after 9 pm at the called party's location).
DEFAULT_QUIET_START = time(21, 0)
DEFAULT_QUIET_END = time(8, 0)

# Twilio's default opt-out, opt-in and help keywords (the whole message, any case).
OPT_OUT_KEYWORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_KEYWORDS = frozenset({"START", "UNSTOP", "YES"})
HELP_KEYWORDS = frozenset({"HELP", "INFO"})

# Placeholders filled from the customer and the business; templates may declare more.
BUILTIN_PLACEHOLDERS = frozenset({"first_name", "customer_name", "business_name"})


def _each(codes: str, zone: str) -> dict[str, str]:
    return dict.fromkeys(codes.split(), zone)


_EASTERN = (
    "201 202 203 207 212 215 216 220 223 234 239 240 248 252 267 272 276 301 302 304 305 313 315 321 330"
    " 332 336 339 347 351 352 380 386 401 404 407 410 412 413 419 423 434 440 443 445 470 475 478 484 502"
    " 508 513 516 517 518 540 551 561 567 570 571 585 586 603 606 607 609 610 614 616 617 631 640 646 667"
    " 678 680 681 703 704 706 716 717 718 724 727 732 734 740 743 754 757 762 770 772 774 781 786 802 803"
    " 804 810 813 814 828 838 843 845 848 854 856 857 859 860 862 863 864 865 878 904 908 910 912 914 917"
    " 919 929 934 937 941 947 954 959 973 978 980 984 989 231 269 416 437 647 905 289 365 613 343 519 226"
    " 548 705 249 514 438 450 579 418 581 819 873"
)
_INDIANA = "317 463 260 765 574"
_CENTRAL = (
    "205 251 256 334 659 938 479 501 870 217 224 309 312 331 447 464 618 630 708 773 779 815 847 872 319"
    " 515 563 641 712 316 620 785 913 225 318 337 504 985 218 320 507 612 651 763 952 228 601 662 769 314"
    " 417 573 636 660 816 557 402 531 308 405 539 580 918 210 214 254 281 325 346 361 409 430 432 469 512"
    " 682 713 726 737 806 817 830 832 903 936 940 945 956 972 979 262 274 414 534 608 715 920 701 605 219"
    " 270 364 615 629 731 901 931"
)
_ZONES: dict[str, str] = {
    **_each(_EASTERN, "America/New_York"),
    **_each(_INDIANA, "America/Indiana/Indianapolis"),
    **_each(_CENTRAL, "America/Chicago"),
    **_each("303 719 720 970 505 575 385 435 801 307 406 915", "America/Denver"),
    **_each("208 986", "America/Boise"),
    **_each("480 520 602 623 928", "America/Phoenix"),
    **_each(
        (
            "209 213 279 310 323 341 408 415 424 442 510 530 559 562 619 626 628 650 657 661 669 707 714"
            " 747 760 805 818 820 831 858 909 916 925 949 951 458 503 541 971 206 253 360 425 509 564 702"
            " 725 775"
        ),
        "America/Los_Angeles",
    ),
    **_each("236 250 604 672 778", "America/Vancouver"),
    **_each("403 587 780 825", "America/Edmonton"),
    **_each("204 431", "America/Winnipeg"),
    **_each("306 639", "America/Regina"),
    **_each("902 782", "America/Halifax"),
    "506": "America/Moncton",
    "709": "America/St_Johns",
    "907": "America/Anchorage",
    "808": "Pacific/Honolulu",
    **_each("787 939", "America/Puerto_Rico"),
}
AREA_CODE_ZONES: dict[str, str] = _ZONES


@dataclass(frozen=True)
class Window:
    """Local hours [start, end) in which nothing is sent; start after end spans midnight."""

    start: time
    end: time

    def contains(self, moment: time) -> bool:
        """Whether a local time of day falls in the window."""
        if self.start == self.end:
            return False
        if self.start < self.end:
            return self.start <= moment < self.end
        return moment >= self.start or moment < self.end


DEFAULT_WINDOW = Window(DEFAULT_QUIET_START, DEFAULT_QUIET_END)


def zone_of(name: str | None) -> ZoneInfo | None:
    """The ZoneInfo for an IANA name, or None when unknown."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_for_phone(e164: str | None) -> str | None:
    """The time zone a NANP number's area code implies (None outside the table or outside NANP)."""
    if not e164 or not e164.startswith("+1") or len(e164) != 12:
        return None
    return AREA_CODE_ZONES.get(e164[2:5])


def recipient_zone(*, customer_zone: str | None, phone: str | None, tenant_zone: str) -> ZoneInfo:
    """The customer's zone if known, else the one the phone's area code implies, else the business's."""
    for name in (customer_zone, zone_for_phone(phone), tenant_zone):
        zone = zone_of(name)
        if zone is not None:
            return zone
    return ZoneInfo("UTC")


def windows(tenant_start: time | None, tenant_end: time | None) -> list[Window]:
    """The law's window plus the business's own (a business may be stricter, never laxer)."""
    found = [DEFAULT_WINDOW]
    if tenant_start is not None and tenant_end is not None:
        found.append(Window(tenant_start, tenant_end))
    return found


def next_open(now: datetime, zone: ZoneInfo, quiet: list[Window]) -> datetime | None:
    """When sending is allowed again (UTC), or None when it is allowed now."""
    local = now.astimezone(zone)
    moved = False
    for _ in range(2 * len(quiet) + 2):
        inside = next((w for w in quiet if w.contains(local.time().replace(tzinfo=None))), None)
        if inside is None:
            return local.astimezone(UTC) if moved else None
        day = local.date() if local.time().replace(tzinfo=None) < inside.end else local.date() + timedelta(days=1)
        local = datetime.combine(day, inside.end, tzinfo=zone)
        moved = True
    return local.astimezone(UTC)


def with_footer(body: str, footer: str) -> str:
    """The body with the opt-out footer appended, unless it already tells how to opt out."""
    if re.search(r"\bSTOP\b", body, re.IGNORECASE):
        return body
    return f"{body.rstrip()}\n{footer}"


def keyword(body: str) -> str | None:
    """The opt-out/opt-in/help keyword a whole inbound text is, or None."""
    word = re.sub(r"[^A-Za-z]", "", body or "").upper()
    if word in OPT_OUT_KEYWORDS or word in OPT_IN_KEYWORDS or word in HELP_KEYWORDS:
        return word
    return None


class TemplateError(ValueError):
    """A template that cannot be rendered safely; `problems` names each fault."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def placeholders_of(text: str) -> set[str]:
    """The {names} a template text uses; TemplateError for anything but plain named placeholders."""
    names: set[str] = set()
    problems: list[str] = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateError([f"unbalanced braces: {exc}"]) from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if not re.fullmatch(r"[a-z][a-z0-9_]{0,39}", field) or spec or conversion:
            problems.append(f"{{{field}}} is not a plain placeholder name")
        else:
            names.add(field)
    if problems:
        raise TemplateError(problems)
    return names


def check_template(texts: list[str], declared: set[str]) -> set[str]:
    """Every placeholder the texts use; TemplateError naming any that is neither built in nor declared."""
    used: set[str] = set()
    for text in texts:
        used |= placeholders_of(text)
    unknown = sorted(used - BUILTIN_PLACEHOLDERS - declared)
    if unknown:
        raise TemplateError([f"{{{name}}} is not a known or declared placeholder" for name in unknown])
    return used


def render(text: str, values: dict[str, str]) -> str:
    """The text with every placeholder filled; TemplateError naming the missing ones."""
    missing = sorted(placeholders_of(text) - values.keys())
    if missing:
        raise TemplateError([f"no value for {{{name}}}" for name in missing])
    return text.format_map(values)

"""The knowledge-base contract as pydantic models: strict about keys, kind about shapes."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

ID_PATTERN = r"^[a-z0-9-]+$"
MAX_ID_LENGTH = 40  # ids travel in Telegram callback data, which is limited to 64 bytes
DAYS = ("ma", "di", "wo", "do", "vr", "za", "zo")
CLOSED = "gesloten"

_PERIOD = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)\s*-\s*([01]\d|2[0-4]):([0-5]\d)$")
_URL = re.compile(r"^https?://[A-Za-z0-9.-]+\.[A-Za-z]{2,}(:\d+)?(/\S*)?$")
_EMAIL = re.compile(r"^[^@\s]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$")
_PHONE_PATTERNS = (
    re.compile(r"^0[1-9]\d{8}$"),  # ordinary Dutch number: 10 digits
    re.compile(r"^(\+31|0031)[1-9]\d{8}$"),  # international form of the same
    re.compile(r"^0(800|900|906|909)\d{4,7}$"),  # free and paid service numbers
    re.compile(r"^1\d{2}(\d{3})?$"),  # 112, 113, 116 111 and other short numbers
    re.compile(r"^14\d{3,4}$"),  # gemeente numbers: 14 + area code
)


class Strict(BaseModel):
    """Base for every knowledge-base model: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class LocalText(Strict):
    """A text residents read, in Dutch and optionally English."""

    nl: str = Field(min_length=1)
    en: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _accept_plain_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"nl": value}
        return value

    def get(self, lang: str) -> str:
        """The text in `lang`, falling back to Dutch."""
        return self.en if lang == "en" and self.en else self.nl


def _strings(value: Any) -> Any:
    """Accept a single string where a list of strings is expected."""
    return [value] if isinstance(value, str) else value


StrList = Annotated[list[Annotated[str, Field(min_length=1)]], BeforeValidator(_strings)]
Identifier = Annotated[str, Field(pattern=ID_PATTERN, max_length=MAX_ID_LENGTH)]
IdList = Annotated[list[Identifier], BeforeValidator(_strings)]


def normalise_phone(value: str) -> str:
    """Digits only (keeping a leading +), for validation and tel: links."""
    return re.sub(r"[^\d+]", "", value)


def _check_phone(value: Any) -> Any:
    if isinstance(value, int):
        raise ValueError("write phone numbers in quotes, for example \"0475 538 888\"")
    if isinstance(value, str):
        digits = normalise_phone(value)
        if not any(pattern.match(digits) for pattern in _PHONE_PATTERNS):
            raise ValueError(f"'{value}' is not a Dutch phone number")
        if re.search(r"0{6,}", digits):
            raise ValueError(f"'{value}' looks like a placeholder; fill in the real number")
    return value


def _check_url(value: Any) -> Any:
    if isinstance(value, str) and not _URL.match(value):
        raise ValueError(f"'{value}' is not a web address starting with https://")
    return value


def _check_email(value: Any) -> Any:
    if isinstance(value, str) and not _EMAIL.match(value):
        raise ValueError(f"'{value}' is not an e-mail address")
    return value


Phone = Annotated[str, BeforeValidator(_check_phone)]
Url = Annotated[str, BeforeValidator(_check_url)]
Email = Annotated[str, BeforeValidator(_check_email)]


def parse_periods(value: str) -> list[tuple[int, int]]:
    """Turn "09:00-12:00, 13:00-17:00" into minute ranges; raise ValueError when malformed.

    A period that ends before it starts runs through the night: "17:00-08:00" ends at 08:00
    the next morning (an end past 24:00, in minutes from the day's midnight).
    """
    if value.strip().lower() == CLOSED:
        return []
    periods = []
    for part in value.split(","):
        match = _PERIOD.match(part.strip())
        if not match:
            raise ValueError(
                f"'{value}' is not a valid time; write \"09:00-17:00\", "
                f"\"09:00-12:00, 13:00-17:00\" or {CLOSED}"
            )
        start = int(match[1]) * 60 + int(match[2])
        end = int(match[3]) * 60 + int(match[4])
        if end > 24 * 60:
            raise ValueError(f"'{part.strip()}' ends after 24:00")
        if end == start:
            raise ValueError(f"'{part.strip()}' starts and ends at the same time")
        if end < start:  # "17:00-08:00": through the night, until the next morning
            end += 24 * 60
        periods.append((start, end))
    periods.sort()
    for (_, first_end), (second_start, _) in itertools.pairwise(periods):
        if second_start < first_end:
            raise ValueError(f"'{value}' has overlapping times")
    return periods


def _check_hours_value(value: Any) -> Any:
    if isinstance(value, int):
        raise ValueError("write opening hours in quotes, for example \"09:00-17:00\"")
    if isinstance(value, str):
        parse_periods(value)
    return value


HoursValue = Annotated[str, BeforeValidator(_check_hours_value)]


class Hours(Strict):
    """Opening hours per weekday; a missing day is closed."""

    ma: HoursValue | None = None
    di: HoursValue | None = None
    wo: HoursValue | None = None
    do: HoursValue | None = None
    vr: HoursValue | None = None
    za: HoursValue | None = None
    zo: HoursValue | None = None

    def periods(self, weekday: int) -> list[tuple[int, int]]:
        """Opening periods in minutes for weekday 0 (Monday) to 6 (Sunday)."""
        value = getattr(self, DAYS[weekday])
        return parse_periods(value) if value else []


class Contact(Strict):
    """How to reach a service."""

    phone: Phone | None = None
    email: Email | None = None
    website: Url | None = None
    address: str | None = None
    whatsapp: Phone | None = None


def _check_date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise ValueError(f"'{value}' is not a date; write it as YYYY-MM-DD") from None
    if isinstance(value, dt.datetime):
        return value.date()
    return value


CheckedDate = Annotated[dt.date, BeforeValidator(_check_date)]
MAX_STEPS = 4  # "what happens next" in at most four short steps (issue 18)
Steps = Annotated[list[Annotated[str, Field(min_length=1)]],
                  Field(min_length=1, max_length=MAX_STEPS)]


class LocalSteps(Strict):
    """Short steps residents read, in Dutch and optionally English."""

    nl: Steps
    en: Steps | None = None

    def get(self, lang: str) -> list[str]:
        """The steps in `lang`, falling back to Dutch."""
        return self.en if lang == "en" and self.en else self.nl


class Service(Strict):
    """A local or national service a resident can go to."""

    id: Identifier
    name: LocalText
    summary: LocalText
    details: LocalText | None = None
    for_whom: LocalText | None = None
    cost: LocalText | None = None
    keywords: StrList = []
    examples: StrList = []
    gemeenten: StrList = []
    checked: CheckedDate | None = None
    sources: Annotated[list[Url], BeforeValidator(_strings)] = []
    example_data: bool = False
    contact: Contact | None = None
    hours: Hours | None = None
    needs: IdList = []  # ids from the shared map of needs (bot/engine/data/needs/)
    next_steps: LocalSteps | None = None  # what happens when you get in touch
    bring: LocalText | None = None  # what to have at hand
    valid_until: CheckedDate | None = None  # amounts or rules that end on this date


class FaqEntry(Strict):
    """A question about the rules, with its answer."""

    id: Identifier
    question: LocalText
    answer: LocalText
    keywords: StrList = []
    examples: StrList = []
    services: IdList = []
    sources: Annotated[list[Url], BeforeValidator(_strings)] = []
    checked: CheckedDate | None = None
    valid_until: CheckedDate | None = None  # amounts or rules that end on this date
    needs: IdList = []  # ids from the shared map of needs (bot/engine/data/needs/)


class TreeOption(Strict):
    """One button in the question tree; exactly one target."""

    label: LocalText
    next: Identifier | None = None
    services: IdList | None = None
    faq: IdList | None = None
    handoff: Literal[True] | None = None
    role: Literal["self", "carer"] | None = None

    @model_validator(mode="after")
    def _exactly_one_target(self) -> TreeOption:
        targets = [
            name for name in ("next", "services", "faq", "handoff") if getattr(self, name)
        ]
        if len(targets) != 1:
            found = ", ".join(targets) or "none"
            raise ValueError(
                f"an option needs exactly one of next, services, faq or handoff (found: {found})"
            )
        return self


class TreeNode(Strict):
    """A question in the tree with its options."""

    text: LocalText
    topic: str | None = None
    options: list[TreeOption] = Field(min_length=1)


class Tree(Strict):
    """The question tree."""

    start: Identifier
    nodes: dict[str, TreeNode] = Field(min_length=1)

    @field_validator("nodes")
    @classmethod
    def _node_ids(cls, nodes: dict[str, TreeNode]) -> dict[str, TreeNode]:
        for node_id in nodes:
            if not re.match(ID_PATTERN, node_id) or len(node_id) > MAX_ID_LENGTH:
                raise ValueError(f"node id '{node_id}' may only hold a-z, 0-9 and -")
        return nodes


class Team(Strict):
    """The meedenkers team that takes over conversations."""

    name: str
    phone: Phone | None = None
    hours: Hours | None = None
    reminder_minutes: int = Field(default=10, ge=1, le=1440)


class Huisartsenpost(Strict):
    """The regional out-of-hours GP service, shown with every crisis reply."""

    name: str
    phone: Phone | None = None  # without one, residents are told to call their own GP


class Privacy(Strict):
    """Who to ask about privacy, and how long conversations are kept."""

    contact: str
    retention_days: int = Field(default=30, ge=1, le=366)


class Channel(Strict):
    """How to reach the gemeente's own desk."""

    phone: Phone | None = None
    website: Url | None = None


class GeneralTopics(Strict):
    """Everyday gemeente matters (paspoort, afval, …): pointed to the gemeente's own desk."""

    channel: Channel
    topics: StrList = []  # more words for this gemeente's desk, on top of the shared map


class Gemeente(Strict):
    """Settings of one deployment."""

    name: str
    gemeenten: StrList = Field(min_length=1)
    example_data: bool = False
    team: Team
    huisartsenpost: Huisartsenpost
    privacy: Privacy
    generalist: Identifier | None = None  # the one place for several problems at once
    clientondersteuning: Identifier | None = None  # free, independent client support
    general_topics: GeneralTopics | None = None


class ServicesFile(Strict):
    """services.yaml."""

    services: list[Service]


class FaqFile(Strict):
    """faq.yaml."""

    faq: list[FaqEntry]


class CrisisFile(Strict):
    """crisis.yaml: on top of the built-in crisis check, phrases that always get the crisis
    screen, sayings to ignore, and more words for named signals (see docs)."""

    phrases: StrList = []
    exceptions: StrList = []
    signals: dict[str, StrList] = {}

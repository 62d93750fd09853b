"""Load a knowledge-base folder and report every problem at once, with file and line."""

from __future__ import annotations

import datetime as dt
import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from bot.clock import system_clock
from bot.kb.models import (
    CrisisFile,
    FaqEntry,
    FaqFile,
    Gemeente,
    LocalText,
    Service,
    ServicesFile,
    Tree,
    TreeNode,
)
from bot.kb.yamlsource import Location, YamlSource, YamlSyntaxError, read_yaml

REQUIRED_FILES = ("services.yaml", "faq.yaml", "tree.yaml", "gemeente.yaml")
STALE_AFTER_DAYS = 365
DUE_WITHIN_DAYS = 31  # `check --stale` lists what falls due within a month
MAX_CHOICES = 6  # tree choices on one phone screen, besides the bot's own buttons (issue 17)
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class Problem:
    """One finding of the checker, pointing at a file and line."""

    file: str
    line: int
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.severity}: {self.message}"


@dataclass(frozen=True)
class KnowledgeBase:
    """A validated knowledge base, ready for the engine."""

    folder: Path
    services: dict[str, Service]
    faq: dict[str, FaqEntry]
    tree: Tree
    gemeente: Gemeente
    texts: dict[str, LocalText] = field(default_factory=dict)
    crisis: CrisisFile = field(default_factory=CrisisFile)
    warnings: tuple[Problem, ...] = ()


class KnowledgeBaseError(Exception):
    """The knowledge base has errors; `problems` lists all of them."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(f"{sum(p.severity == 'error' for p in problems)} error(s)")
        self.problems = problems


class _Collector:
    """Gathers problems for one knowledge base while it is being read."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[Problem] = []

    def add(self, file: str, line: int, message: str, *, warning: bool = False) -> None:
        self.problems.append(Problem(file, line, message, "warning" if warning else "error"))


def load_knowledge_base(folder: Path | str, *, today: dt.date | None = None) -> KnowledgeBase:
    """Read and validate `folder`; raise KnowledgeBaseError listing every error."""
    folder = Path(folder)
    collector = _Collector(folder)
    if not folder.is_dir():
        raise KnowledgeBaseError([Problem(str(folder), 1, "this folder does not exist")])

    sources: dict[str, YamlSource] = {}
    for name in (*REQUIRED_FILES, "texts.yaml", "crisis.yaml"):
        path = folder / name
        if not path.exists():
            if name in REQUIRED_FILES:
                collector.add(str(path), 1, f"{name} is missing from the knowledge base")
            continue
        try:
            sources[name] = read_yaml(path)
        except YamlSyntaxError as exc:
            collector.add(str(path), exc.line, exc.message)
            continue
        for key, line in sources[name].duplicate_keys:
            collector.add(str(path), line, f"the key '{key}' appears twice here")

    services = _validate(collector, sources.get("services.yaml"), ServicesFile)
    faq = _validate(collector, sources.get("faq.yaml"), FaqFile)
    tree = _validate(collector, sources.get("tree.yaml"), Tree)
    gemeente = _validate(collector, sources.get("gemeente.yaml"), Gemeente)
    crisis = _validate(collector, sources.get("crisis.yaml"), CrisisFile)
    texts = _validate_texts(collector, sources.get("texts.yaml"))

    service_map = _unique(collector, sources.get("services.yaml"), services, "services")
    faq_map = _unique(collector, sources.get("faq.yaml"), faq, "faq")
    if services and faq:
        _check_faq_links(collector, sources["faq.yaml"], faq, service_map)
    if tree:
        _check_tree(collector, sources["tree.yaml"], tree, service_map, faq_map, services, faq)
    if gemeente and services:
        _check_gemeenten(collector, sources["services.yaml"], services, gemeente)
        for key in ("generalist", "clientondersteuning"):
            named = getattr(gemeente, key)
            if named and named not in service_map:
                _dangling(collector, sources["gemeente.yaml"], (key,),
                          f"{key} names service '{named}'", service_map)
    _check_needs(collector, sources, services, faq)
    if crisis and crisis.signals:
        _check_crisis_signals(collector, sources["crisis.yaml"], crisis)
    _check_dates(collector, sources, services, faq, today or system_clock().today())
    _check_readability(collector, sources, services, faq)

    errors = [p for p in collector.problems if p.severity == "error"]
    if errors or not (services and faq and tree and gemeente):
        raise KnowledgeBaseError(sorted(collector.problems, key=_order))
    return KnowledgeBase(
        folder=folder,
        services=service_map,
        faq=faq_map,
        tree=tree,
        gemeente=gemeente,
        texts=texts,
        crisis=crisis or CrisisFile(),
        warnings=tuple(sorted(collector.problems, key=_order)),
    )


def stale_worklist(folder: Path | str, *, today: dt.date | None = None) -> list[Problem]:
    """What to re-check this month, with file and line: the editor's worklist (`check --stale`).

    Example data still shown, entries never checked or due for their yearly check within a
    month, and amounts or rules whose valid_until ends within a month.
    """
    folder, today = Path(folder), today or system_clock().today()
    soon = today + dt.timedelta(days=DUE_WITHIN_DAYS)
    collector, found = _Collector(folder), []
    files: tuple[tuple[str, str, type[ServicesFile] | type[FaqFile]], ...] = (
        ("services.yaml", "services", ServicesFile), ("faq.yaml", "faq", FaqFile))
    for file_name, key, model in files:
        path = folder / file_name
        try:
            source = read_yaml(path) if path.exists() else None
        except YamlSyntaxError:
            continue  # `wegwijzer check` reports it
        parsed = _validate(collector, source, model) if source else None
        if source is None or parsed is None:
            continue
        for index, entry in enumerate(getattr(parsed, key)):
            reasons: list[tuple[str, str]] = []
            if getattr(entry, "example_data", False):
                reasons.append(("example_data", "still shows example data: replace it with "
                                                "checked facts"))
            if entry.checked is None:
                reasons.append(("id", "has no checked date"))
            elif (due := entry.checked + dt.timedelta(days=STALE_AFTER_DAYS)) <= soon:
                reasons.append(("checked", f"was checked on {entry.checked}: check it again "
                                           f"by {due}"))
            if entry.valid_until is not None and entry.valid_until <= soon:
                reasons.append(("valid_until", f"is valid until {entry.valid_until}: update "
                                               "its amounts or dates by then"))
            found += [Problem(str(path), source.line_of((key, index, field)),
                              f"'{entry.id}' {reason}", "warning") for field, reason in reasons]
    return found


def check_knowledge_base(folder: Path | str, *, today: dt.date | None = None) -> list[Problem]:
    """All errors and warnings for `folder`, for `wegwijzer check`."""
    try:
        return list(load_knowledge_base(folder, today=today).warnings)
    except KnowledgeBaseError as exc:
        return exc.problems


def _order(problem: Problem) -> tuple[str, int, str]:
    return (problem.file, problem.line, problem.message)


def _validate(
    collector: _Collector, source: YamlSource | None, model: type[M]
) -> M | None:
    if source is None:
        return None
    file = str(source.path)
    if not isinstance(source.data, dict):
        collector.add(file, 1, f"{source.path.name} must be a mapping of keys, such as "
                      f"{_expected_top_keys(model)}")
        return None
    try:
        return model.model_validate(source.data)
    except ValidationError as exc:
        for error in exc.errors():
            location: Location = tuple(error["loc"])
            collector.add(file, source.line_of(location), _describe(error, model, source))
        return None


def _expected_top_keys(model: type[BaseModel]) -> str:
    return ", ".join(f"'{name}:'" for name in model.model_fields)


def _describe(error: Any, model: type[BaseModel], source: YamlSource) -> str:
    """A plain-language message for one pydantic error."""
    loc = tuple(error["loc"])
    where = _where(loc, source)
    kind = error["type"]
    if kind == "extra_forbidden":
        key = str(loc[-1])
        allowed = _allowed_keys(model, loc[:-1])
        hint = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
        suggestion = f"; did you mean '{hint[0]}'?" if hint else f"; allowed: {', '.join(allowed)}"
        return f"unknown key '{key}'{where}{suggestion}"
    if kind == "missing":
        return f"'{loc[-1]}' is required{where}"
    message = str(error["msg"]).removeprefix("Value error, ")
    field_name = next((str(part) for part in reversed(loc) if isinstance(part, str)), "")
    if kind == "string_pattern_mismatch":
        return f"'{field_name}' may only hold a-z, 0-9 and - (got '{error['input']}'){where}"
    return f"{field_name}: {message}{where}" if field_name else f"{message}{where}"


def _where(loc: tuple[Any, ...], source: YamlSource) -> str:
    """' in service 'mee'' style context for the entry an error sits in."""
    if len(loc) >= 2 and loc[0] in ("services", "faq") and isinstance(loc[1], int):
        entries = source.data.get(loc[0]) if isinstance(source.data, dict) else None
        if isinstance(entries, list) and loc[1] < len(entries):
            entry = entries[loc[1]]
            if isinstance(entry, dict) and "id" in entry:
                kind = "service" if loc[0] == "services" else "FAQ entry"
                return f" (in {kind} '{entry['id']}')"
    if len(loc) >= 2 and loc[0] == "nodes":
        return f" (in node '{loc[1]}')"
    return ""


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names valid at `loc`, following the model's nested annotations."""
    current: Any = model
    for part in loc:
        is_model = isinstance(current, type) and issubclass(current, BaseModel)
        if isinstance(part, int) or not is_model:
            continue
        field_info = current.model_fields.get(str(part))
        if field_info is None:  # a free-form mapping key such as a node id
            current = _mapping_value_model(current)
            continue
        current = _model_in(field_info.annotation)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return list(current.model_fields)
    return []


def _mapping_value_model(model: Any) -> Any:
    for info in model.model_fields.values():
        args: tuple[Any, ...] = getattr(info.annotation, "__args__", ())
        if getattr(info.annotation, "__origin__", None) is dict and len(args) == 2:
            return args[-1]
    return model


def _model_in(annotation: Any) -> Any:
    """The BaseModel inside list[...], X | None, Annotated[...] or dict[str, X]."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return getattr(annotation, "__origin__", None) and _model_in(annotation.__origin__)


def _validate_texts(collector: _Collector, source: YamlSource | None) -> dict[str, LocalText]:
    if source is None:
        return {}
    if not isinstance(source.data, dict):
        collector.add(str(source.path), 1, "texts.yaml must map text keys to {nl:, en:} texts")
        return {}
    from bot.engine.texts import DEFAULT_TEXT_KEYS  # the engine owns the list of its sentences

    texts = {}
    for key, value in source.data.items():
        line = source.line_of((key,))
        if key not in DEFAULT_TEXT_KEYS:
            hint = difflib.get_close_matches(key, DEFAULT_TEXT_KEYS, n=1)
            extra = f"; did you mean '{hint[0]}'?" if hint else ""
            collector.add(str(source.path), line, f"unknown text key '{key}'{extra}")
            continue
        try:
            texts[key] = LocalText.model_validate(value)
        except ValidationError:
            collector.add(str(source.path), line, f"text '{key}' needs nl: (and optionally en:)")
    return texts


def _unique(
    collector: _Collector, source: YamlSource | None, parsed: Any, key: str
) -> dict[str, Any]:
    entries = getattr(parsed, key, None) or []
    found: dict[str, Any] = {}
    for index, entry in enumerate(entries):
        if entry.id in found:
            assert source is not None
            collector.add(str(source.path), source.line_of((key, index, "id")),
                          f"duplicate id '{entry.id}': every id must be unique")
        found.setdefault(entry.id, entry)
    return found


def _check_faq_links(
    collector: _Collector, source: YamlSource, faq: FaqFile, services: dict[str, Service]
) -> None:
    for index, entry in enumerate(faq.faq):
        for position, service_id in enumerate(entry.services):
            if service_id not in services:
                _dangling(collector, source, ("faq", index, "services", position),
                          f"FAQ entry '{entry.id}' names service '{service_id}'", services)


def _dangling(
    collector: _Collector, source: YamlSource, loc: Location, what: str, known: Any
) -> None:
    target = str(what.rsplit("'", 2)[-2])
    hint = difflib.get_close_matches(target, list(known), n=1)
    extra = f"; did you mean '{hint[0]}'?" if hint else ""
    collector.add(str(source.path), source.line_of(loc), f"{what}, which does not exist{extra}")


def _check_tree(
    collector: _Collector,
    source: YamlSource,
    tree: Tree,
    services: dict[str, Service],
    faq: dict[str, FaqEntry],
    services_ok: ServicesFile | None,
    faq_ok: FaqFile | None,
) -> None:
    if tree.start not in tree.nodes:
        _dangling(collector, source, ("start",), f"start names node '{tree.start}'", tree.nodes)
    for node_id, node in tree.nodes.items():
        _check_screen(collector, source, node_id, node)
        for index, option in enumerate(node.options):
            loc: Location = ("nodes", node_id, "options", index)
            if option.next and option.next not in tree.nodes:
                _dangling(collector, source, (*loc, "next"),
                          f"node '{node_id}' leads to node '{option.next}'", tree.nodes)
            for position, service_id in enumerate(option.services or []):
                if services_ok and service_id not in services:
                    _dangling(collector, source, (*loc, "services", position),
                              f"node '{node_id}' names service '{service_id}'", services)
            for position, faq_id in enumerate(option.faq or []):
                if faq_ok and faq_id not in faq:
                    _dangling(collector, source, (*loc, "faq", position),
                              f"node '{node_id}' names FAQ entry '{faq_id}'", faq)
    if tree.start not in tree.nodes:
        return  # every node would be "unreachable": the start error says it all
    reachable = _reachable(tree)
    for node_id in tree.nodes:
        if node_id not in reachable:
            collector.add(str(source.path), source.line_of(("nodes", node_id)),
                          f"node '{node_id}' cannot be reached from start '{tree.start}'")


def _check_screen(collector: _Collector, source: YamlSource, node_id: str, node: TreeNode,
                  ) -> None:
    """A phone screen holds at most MAX_CHOICES choices, and never the same target twice."""
    if len(node.options) > MAX_CHOICES:
        collector.add(str(source.path), source.line_of(("nodes", node_id, "options")),
                      f"node '{node_id}' has {len(node.options)} choices; at most {MAX_CHOICES} "
                      "fit on a phone screen (the bot adds back and meedenker): group some "
                      "under a sub-question", warning=True)
    seen: dict[tuple[object, ...], int] = {}
    for index, option in enumerate(node.options):
        target = (option.next, tuple(option.services or ()), tuple(option.faq or ()),
                  option.handoff, option.role)
        if target in seen:
            collector.add(str(source.path), source.line_of(("nodes", node_id, "options", index)),
                          f"node '{node_id}': choice {index + 1} leads to the same place as "
                          f"choice {seen[target] + 1}", warning=True)
        seen.setdefault(target, index)


def _reachable(tree: Tree) -> set[str]:
    seen: set[str] = set()
    pending = [tree.start]
    while pending:
        node_id = pending.pop()
        if node_id in seen or node_id not in tree.nodes:
            continue
        seen.add(node_id)
        pending.extend(option.next for option in tree.nodes[node_id].options if option.next)
    return seen


def _check_gemeenten(
    collector: _Collector, source: YamlSource, services: ServicesFile, gemeente: Gemeente
) -> None:
    known = {name.casefold(): name for name in gemeente.gemeenten}
    for index, service in enumerate(services.services):
        for position, name in enumerate(service.gemeenten):
            if name.casefold() not in known:
                hint = difflib.get_close_matches(name, list(known.values()), n=1)
                extra = f"; did you mean '{hint[0]}'?" if hint else ""
                collector.add(
                    str(source.path), source.line_of(("services", index, "gemeenten", position)),
                    f"service '{service.id}' names gemeente '{name}', which is not in "
                    f"gemeente.yaml{extra}",
                )


def _check_needs(collector: _Collector, sources: dict[str, YamlSource],
                 services: ServicesFile | None, faq: FaqFile | None) -> None:
    """Every `needs:` id must be in the shared map of needs."""
    from bot.engine.needs import builtin_needs, needs_of  # the engine owns the map

    need_map = builtin_needs()
    known = need_map.needs
    listed: list[tuple[str, str, Sequence[Service | FaqEntry]]] = [
        ("services.yaml", "services", services.services if services else []),
        ("faq.yaml", "faq", faq.faq if faq else [])]
    for name, key, entries in listed:
        for index, entry in enumerate(entries):
            for position, need in enumerate(entry.needs):
                if need not in known:
                    _dangling(collector, sources[name], (key, index, "needs", position),
                              f"'{entry.id}' names need '{need}'", known)
            if not entry.needs and not needs_of(need_map, entry):
                collector.add(str(sources[name].path), sources[name].line_of((key, index)),
                              f"'{entry.id}' meets no need of the shared map: name them in "
                              "'needs:' (see `wegwijzer check --needs`), so residents who use "
                              "other words still find it", warning=True)


def _check_crisis_signals(collector: _Collector, source: YamlSource, crisis: CrisisFile) -> None:
    from bot.engine.crisis import signal_names  # the engine owns the list of its signals

    known = signal_names()
    for name in crisis.signals:
        if name not in known:
            hint = difflib.get_close_matches(name, sorted(known), n=1)
            extra = f"; did you mean '{hint[0]}'?" if hint else ""
            collector.add(str(source.path), source.line_of(("signals", name)),
                          f"signals: '{name}' is not a crisis signal{extra} (known: "
                          f"{', '.join(sorted(known))})")


def _check_dates(
    collector: _Collector,
    sources: dict[str, YamlSource],
    services: ServicesFile | None,
    faq: FaqFile | None,
    today: dt.date,
) -> None:
    groups: list[tuple[str, str, list[Any]]] = [
        ("services.yaml", "services", services.services if services else []),
        ("faq.yaml", "faq", faq.faq if faq else []),
    ]
    for file_name, key, entries in groups:
        source = sources.get(file_name)
        for index, entry in enumerate(entries):
            if source is None:
                continue
            if entry.valid_until is not None and entry.valid_until < today:
                collector.add(str(source.path), source.line_of((key, index, "valid_until")),
                              f"'{entry.id}' was valid until {entry.valid_until}; update its "
                              "amounts or dates, then valid_until", warning=True)
            if entry.checked is None:
                continue
            line = source.line_of((key, index, "checked"))
            if entry.checked > today:
                collector.add(str(source.path), line,
                              f"'{entry.id}' has a checked date in the future ({entry.checked})")
            elif (today - entry.checked).days > STALE_AFTER_DAYS:
                collector.add(str(source.path), line,
                              f"'{entry.id}' was last checked on {entry.checked}, more than 12 "
                              "months ago; please verify it again", warning=True)


def _check_readability(
    collector: _Collector,
    sources: dict[str, YamlSource],
    services: ServicesFile | None,
    faq: FaqFile | None,
) -> None:
    from bot.kb.readability import readability_problems

    checks: list[tuple[str, str, list[Any], tuple[str, ...]]] = [
        ("services.yaml", "services", services.services if services else [],
         ("summary", "details", "for_whom", "cost", "bring")),
        ("faq.yaml", "faq", faq.faq if faq else [], ("question", "answer")),
    ]
    for file_name, key, entries, fields in checks:
        source = sources.get(file_name)
        if source is None:
            continue
        for index, entry in enumerate(entries):
            for name in fields:
                text: LocalText | None = getattr(entry, name)
                if text is None:
                    continue
                for message in readability_problems(text.nl):
                    collector.add(str(source.path), source.line_of((key, index, name)),
                                  f"'{entry.id}' {name}: {message}", warning=True)


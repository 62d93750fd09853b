"""Read YAML into plain Python data while remembering the line of every value."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

# libyaml's parser is about ten times faster and keeps every node's line, like the pure one.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

Location = tuple[str | int, ...]


@dataclass
class YamlSource:
    """Plain data from one YAML file plus the line number of each value, keyed by path."""

    path: Path
    data: Any
    lines: dict[Location, int] = field(default_factory=dict)
    duplicate_keys: list[tuple[str, int]] = field(default_factory=list)

    def line_of(self, location: Location) -> int:
        """Line of the value at `location`, or of its nearest parent that has one."""
        loc = tuple(location)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get((), 1)


class YamlSyntaxError(Exception):
    """The file is not valid YAML; carries the line where the parser gave up."""

    def __init__(self, path: Path, line: int, message: str) -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.message = message


def read_yaml(path: Path) -> YamlSource:
    """Parse `path`, keeping line numbers (1-based) for every mapping key and list item."""
    text = path.read_text(encoding="utf-8")
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        source = YamlSource(path=path, data=None)
        source.data = _construct(loader, node, (), source) if node is not None else None
        return source
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        problem = exc.problem or "invalid YAML"
        raise YamlSyntaxError(path, line, f"YAML syntax error: {problem}") from exc
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(path, 1, f"YAML syntax error: {exc}") from exc
    finally:
        loader.dispose()


def _construct(loader: yaml.SafeLoader, node: yaml.Node, loc: Location, source: YamlSource) -> Any:
    source.lines[loc] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            key = str(key) if not isinstance(key, str) else key
            if key in result:
                source.duplicate_keys.append((key, key_node.start_mark.line + 1))
            result[key] = _construct(loader, value_node, (*loc, key), source)
            source.lines[(*loc, key)] = key_node.start_mark.line + 1
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(loader, item, (*loc, index), source) for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)

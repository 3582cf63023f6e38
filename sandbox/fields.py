"""Graph API field expansion syntax: ``id,message,comments.limit(5).filter(stream){id,from{name}}``.

Each field has a name, modifiers (``.limit(5)``, ``.filter(stream)``, ``.order(...)``,
``.summary(true)``, ``.as(alias)``, any other ``.name(value)``) and optional sub-fields in braces.
"""

from __future__ import annotations

from dataclasses import dataclass, field

_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


class FieldSyntaxError(ValueError):
    def __init__(self, text: str, position: int, expected: str) -> None:
        self.position = position
        super().__init__(f'Syntax error "Expected {expected}." at character {position}: {text}')


@dataclass(frozen=True)
class FieldSpec:
    name: str
    modifiers: dict[str, str] = field(default_factory=dict)
    children: tuple[FieldSpec, ...] | None = None

    @property
    def key(self) -> str:
        """The key the value goes under in the response (``.as(alias)`` renames it)."""
        return self.modifiers.get("as", self.name)


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def skip_spaces(self) -> None:
        while self.peek() in (" ", "\t", "\n"):
            self.pos += 1

    def expect(self, char: str) -> None:
        self.skip_spaces()
        if self.peek() != char:
            raise FieldSyntaxError(self.text, self.pos, f'"{char}"')
        self.pos += 1

    def name(self) -> str:
        self.skip_spaces()
        start = self.pos
        while self.peek() and self.peek() in _NAME_CHARS:
            self.pos += 1
        if start == self.pos:
            raise FieldSyntaxError(self.text, self.pos, "a field name")
        return self.text[start:self.pos]

    def argument(self) -> str:
        self.expect("(")
        depth, start = 1, self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            depth += {"(": 1, ")": -1}.get(char, 0)
            if depth == 0:
                value = self.text[start:self.pos].strip()
                self.pos += 1
                return value
            self.pos += 1
        raise FieldSyntaxError(self.text, self.pos, '")"')

    def field_list(self, closing: str) -> tuple[FieldSpec, ...]:
        specs = [self.one_field()]
        while True:
            self.skip_spaces()
            if self.peek() == ",":
                self.pos += 1
                specs.append(self.one_field())
            elif self.peek() == closing:
                return tuple(specs)
            else:
                raise FieldSyntaxError(self.text, self.pos, "end of string" if not closing else f'"{closing}"')

    def one_field(self) -> FieldSpec:
        name = self.name()
        modifiers: dict[str, str] = {}
        children: tuple[FieldSpec, ...] | None = None
        while True:
            self.skip_spaces()
            if self.peek() == ".":
                self.pos += 1
                modifier = self.name()
                modifiers[modifier] = self.argument()
            elif self.peek() == "{":
                self.pos += 1
                children = self.field_list("}")
                self.expect("}")
            else:
                return FieldSpec(name, modifiers, children)


def parse_fields(text: str | None) -> tuple[FieldSpec, ...] | None:
    """The fields asked for, or None when ``fields`` is absent or empty (the node's defaults apply)."""
    if text is None or not text.strip():
        return None
    return _Parser(text).field_list("")


def format_fields(specs: tuple[FieldSpec, ...]) -> str:
    """The ``fields`` text for ``specs`` (the inverse of :func:`parse_fields`)."""
    parts = []
    for spec in specs:
        text = spec.name + "".join(f".{name}({value})" for name, value in spec.modifiers.items())
        if spec.children is not None:
            text += "{" + format_fields(spec.children) + "}"
        parts.append(text)
    return ",".join(parts)

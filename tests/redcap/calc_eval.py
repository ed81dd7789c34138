"""A small evaluator of the part of REDCap's calc and logic syntax that psyscore writes, for the tests.

It follows REDCap's documented semantics for what psyscore uses: ``[field]`` is the field's stored value (text;
a radio field stores its code), ``'…'``/``"…"`` text, numbers, ``+ - * /``, ``= <> < <= > >=`` (numbers compared
as numbers, text as text), ``and``/``or``, ``if(cond, a, b)``, ``isblankormissingcode(x)`` (blank or one of the
project's missing-data codes), ``rounddown(x, d)``, ``max(…)`` (blanks ignored). Arithmetic on a blank or on
text that is not a number gives NaN, as a REDCap calculation gives no value then. Anything else is a syntax
error, so an equation outside this subset fails the tests instead of passing unnoticed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

_TOKEN = re.compile(r"\s*(?:(\d+(?:\.\d+)?)|'([^']*)'|\"([^\"]*)\"|\[([a-z][a-z0-9_]*)\]|([a-z_]+)"
                    r"|(<>|<=|>=|[-+*/(),=<>]))")


def tokenize(text: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise SyntaxError(f"cannot read {text[pos:pos + 20]!r}")
        num, s1, s2, fld, word, op = m.groups()
        if num is not None:
            out.append(("num", num))
        elif s1 is not None or s2 is not None:
            out.append(("str", s1 if s1 is not None else s2))
        elif fld is not None:
            out.append(("field", fld))
        elif word is not None:
            out.append(("word", word))
        else:
            out.append(("op", op))
        pos = m.end()
    return out


def fields_in(text: str) -> set[str]:
    """The field names an equation or a branching logic refers to."""
    return {v for k, v in tokenize(text) if k == "field"}


def _number(v: object) -> float:
    if isinstance(v, bool):
        return 1.0 if v else 0.0
    if isinstance(v, (int, float)):
        return float(v)
    try:
        return float(str(v).strip())
    except ValueError:
        return math.nan


class Evaluator:
    def __init__(self, record: Mapping[str, str], missing_codes: Sequence[str]) -> None:
        self.record = record
        self.codes = {c.lower() for c in missing_codes}

    def run(self, text: str) -> object:
        self.tokens = tokenize(text)
        self.pos = 0
        value = self.expr()
        if self.pos != len(self.tokens):
            raise SyntaxError(f"unexpected {self.tokens[self.pos]}")
        return value

    # grammar -----------------------------------------------------------------------------------------
    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, kind: str, value: str | None = None) -> str:
        tok = self.peek()
        if tok is None or tok[0] != kind or (value is not None and tok[1] != value):
            raise SyntaxError(f"expected {value or kind}, got {tok}")
        self.pos += 1
        return tok[1]

    def expr(self) -> object:
        left = self.conj()
        while self.peek() == ("word", "or"):
            self.pos += 1
            right = self.conj()
            left = bool(left) or bool(right)
        return left

    def conj(self) -> object:
        left = self.comparison()
        while self.peek() == ("word", "and"):
            self.pos += 1
            right = self.comparison()
            left = bool(left) and bool(right)
        return left

    def comparison(self) -> object:
        left = self.additive()
        tok = self.peek()
        if tok is not None and tok[0] == "op" and tok[1] in ("=", "<>", "<", "<=", ">", ">="):
            self.pos += 1
            right = self.additive()
            a, b = _number(left), _number(right)
            if math.isnan(a) or math.isnan(b):  # text against text (or blank): compared as text
                a, b = str(left), str(right)  # type: ignore[assignment]
            return {"=": a == b, "<>": a != b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[tok[1]]
        return left

    def additive(self) -> object:
        left = self.term()
        while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in "+-":
            self.pos += 1
            right = self.term()
            left = _number(left) + _number(right) if tok[1] == "+" else _number(left) - _number(right)
        return left

    def term(self) -> object:
        left = self.unary()
        while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in "*/":
            self.pos += 1
            right = self.unary()
            b = _number(right)
            left = _number(left) * b if tok[1] == "*" else (_number(left) / b if b else math.nan)
        return left

    def unary(self) -> object:
        if self.peek() == ("op", "-"):
            self.pos += 1
            return -_number(self.unary())
        return self.primary()

    def primary(self) -> object:
        tok = self.peek()
        if tok is None:
            raise SyntaxError("unexpected end")
        kind, value = tok
        self.pos += 1
        if kind == "num":
            return float(value)
        if kind == "str":
            return value
        if kind == "field":
            if value not in self.record:
                raise KeyError(f"no field {value}")
            return self.record[value]
        if kind == "op" and value == "(":
            inner = self.expr()
            self.take("op", ")")
            return inner
        if kind == "word":
            return self.call(value)
        raise SyntaxError(f"unexpected {tok}")

    def args(self) -> list[tuple[int, int]]:
        """Token spans of the arguments of a call (parsed lazily: if() evaluates one branch only)."""
        self.take("op", "(")
        spans = []
        depth = 0
        start = self.pos
        while True:
            tok = self.peek()
            if tok is None:
                raise SyntaxError("unclosed call")
            if tok == ("op", "("):
                depth += 1
            elif tok == ("op", ")"):
                if depth == 0:
                    spans.append((start, self.pos))
                    self.pos += 1
                    return spans
                depth -= 1
            elif tok == ("op", ",") and depth == 0:
                spans.append((start, self.pos))
                start = self.pos + 1
            self.pos += 1

    def evaluate_span(self, span: tuple[int, int]) -> object:
        saved = (self.tokens, self.pos)
        self.tokens, self.pos = saved[0][span[0]:span[1]], 0
        try:
            value = self.expr()
            if self.pos != len(self.tokens):
                raise SyntaxError(f"unexpected {self.tokens[self.pos]}")
            return value
        finally:
            self.tokens, self.pos = saved

    def call(self, name: str) -> object:
        spans = self.args()
        if name == "if":
            if len(spans) != 3:
                raise SyntaxError("if() takes three arguments")
            return self.evaluate_span(spans[1] if self.evaluate_span(spans[0]) else spans[2])
        values = [self.evaluate_span(s) for s in spans]
        if name == "isblankormissingcode":
            (v,) = values
            text = str(v).strip()
            return text == "" or text.lower() in self.codes
        if name == "rounddown":
            x, d = _number(values[0]), int(_number(values[1]))
            return math.floor(x * 10**d) / 10**d
        if name == "max":
            nums = [_number(v) for v in values if str(v).strip() != ""]
            return max(nums) if nums else ""
        raise SyntaxError(f"function {name}() is not in the subset psyscore writes")


def evaluate(text: str, record: Mapping[str, str], missing_codes: Sequence[str] = ()) -> object:
    """The value of a REDCap calc equation (or branching logic) for one record."""
    return Evaluator(record, missing_codes).run(text)

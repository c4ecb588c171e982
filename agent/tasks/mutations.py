"""One deterministic bug in a correct Python function: the mutation operators of the repair suites.

A mutation changes one node of the syntax tree with one of the operators below. The text is changed only
where that node is (the rest of the file, comments and docstrings included, stays byte for byte), and the
result is checked by parsing it again: it must give exactly the mutated tree, else the site is dropped.
Which of the sites is mutated is fixed by a seed, so a task is the same bug on every machine.

The operators (`OPERATORS` holds these descriptions):
- flip_comparison: the first operator of a comparison becomes its near miss (< and <=, > and >=, == and !=,
  in and not in, is and is not);
- off_by_one: an integer in a range() argument, an index or a slice bound gets one more;
- swap_operands: the operands of a non-commutative operator (- / // % ** << >>) change places;
- arithmetic: + and - are swapped (in an expression or an augmented assignment);
- boolean_operator: `and` and `or` are swapped;
- drop_not: a `not` is dropped;
- flip_constant: True and False are swapped.
"""

from __future__ import annotations

import ast
import copy
from dataclasses import dataclass
from typing import Callable

OPERATORS: dict[str, str] = {
    "flip_comparison": "the first operator of a comparison becomes its near miss (< and <=, == and !=, in and not in...)",
    "off_by_one": "an integer in a range() argument, an index or a slice bound gets one more",
    "swap_operands": "the operands of a non-commutative operator (- / // % ** << >>) change places",
    "arithmetic": "+ and - are swapped",
    "boolean_operator": "`and` and `or` are swapped",
    "drop_not": "a `not` is dropped",
    "flip_constant": "True and False are swapped",
}

_NEAR_MISS: dict[type[ast.cmpop], type[ast.cmpop]] = {
    ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt, ast.Eq: ast.NotEq, ast.NotEq: ast.Eq,
    ast.In: ast.NotIn, ast.NotIn: ast.In, ast.Is: ast.IsNot, ast.IsNot: ast.Is,
}
_NON_COMMUTATIVE = (ast.Sub, ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.LShift, ast.RShift)
_PLUS_MINUS: dict[type[ast.operator], type[ast.operator]] = {ast.Add: ast.Sub, ast.Sub: ast.Add}


@dataclass(frozen=True)
class Mutation:
    """One applied mutation: which operator, where, the text before and after, and the whole new source."""

    operator: str
    line: int
    before: str
    after: str
    source: str


def _flip_comparison(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.Compare) and type(node.ops[0]) in _NEAR_MISS:
        return ast.Compare(node.left, [_NEAR_MISS[type(node.ops[0])](), *node.ops[1:]], node.comparators)
    return None


def _off_by_one(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return ast.Constant(node.value + 1)
    return None


def _swap_operands(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.BinOp) and isinstance(node.op, _NON_COMMUTATIVE):
        return ast.BinOp(node.right, node.op, node.left)
    return None


def _arithmetic(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.BinOp) and type(node.op) in _PLUS_MINUS:
        return ast.BinOp(node.left, _PLUS_MINUS[type(node.op)](), node.right)
    if isinstance(node, ast.AugAssign) and type(node.op) in _PLUS_MINUS:
        return ast.AugAssign(node.target, _PLUS_MINUS[type(node.op)](), node.value)
    return None


def _boolean_operator(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.BoolOp):
        return ast.BoolOp(ast.Or() if isinstance(node.op, ast.And) else ast.And(), node.values)
    return None


def _drop_not(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return node.operand
    return None


def _flip_constant(node: ast.AST) -> ast.AST | None:
    if isinstance(node, ast.Constant) and type(node.value) is bool:
        return ast.Constant(not node.value)
    return None


_APPLY: dict[str, Callable[[ast.AST], ast.AST | None]] = {
    "flip_comparison": _flip_comparison, "off_by_one": _off_by_one, "swap_operands": _swap_operands,
    "arithmetic": _arithmetic, "boolean_operator": _boolean_operator, "drop_not": _drop_not,
    "flip_constant": _flip_constant,
}


def _index_constants(tree: ast.AST) -> set[int]:
    """ids of the integer constants inside range() arguments and subscripts: where an off-by-one lives."""
    places: list[ast.AST] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "range":
            places.extend(node.args)
        elif isinstance(node, ast.Subscript):
            places.append(node.slice)
    return {id(n) for place in places for n in ast.walk(place)
            if isinstance(n, ast.Constant) and type(n.value) is int}


def _offset(lines: list[str], line: int, col: int) -> int:
    """Character offset of (1-based line, UTF-8 byte column), the way ast reports positions."""
    return sum(len(x) for x in lines[:line - 1]) + len(lines[line - 1].encode("utf-8")[:col].decode("utf-8"))


def _replace(root: ast.AST, old: ast.AST, new: ast.AST) -> None:
    for parent in ast.walk(root):
        for name, value in ast.iter_fields(parent):
            if value is old:
                setattr(parent, name, new)
                return
            if isinstance(value, list) and any(v is old for v in value):
                value[[i for i, v in enumerate(value) if v is old][0]] = new
                return


def _apply_at(source: str, tree: ast.Module, index: int, operator: str) -> Mutation | None:
    """Mutate the `index`-th node of `ast.walk(tree)` with `operator`; None when the text cannot carry it."""
    node = list(ast.walk(tree))[index]
    twin = copy.deepcopy(tree)
    target = list(ast.walk(twin))[index]
    new = _APPLY[operator](target)
    if new is None:
        return None
    _replace(twin, target, new)
    expected = ast.dump(twin)
    lines = source.splitlines(keepends=True)
    start = _offset(lines, node.lineno, node.col_offset)  # type: ignore[attr-defined]
    end = _offset(lines, node.end_lineno, node.end_col_offset)  # type: ignore[attr-defined]
    text = ast.unparse(new)
    for after in (text, f"({text})"):
        mutated = source[:start] + after + source[end:]
        try:
            if ast.dump(ast.parse(mutated)) == expected:
                return Mutation(operator, node.lineno, source[start:end], after, mutated)  # type: ignore[attr-defined]
        except SyntaxError:
            pass
    return None


def mutations(source: str, first_line: int = 1) -> list[Mutation]:
    """Every single-site mutation of `source` at or after `first_line`, in a fixed order (tree order,
    then the order of OPERATORS)."""
    tree = ast.parse(source)
    indexed = _index_constants(tree)
    out = []
    for index, node in enumerate(ast.walk(tree)):
        if getattr(node, "lineno", 0) < first_line:
            continue
        for operator in OPERATORS:
            if operator == "off_by_one" and id(node) not in indexed:
                continue
            if _APPLY[operator](node) is not None:
                found = _apply_at(source, tree, index, operator)
                if found is not None:
                    out.append(found)
    return out


def mutate(source: str, seed: int, first_line: int = 1) -> Mutation | None:
    """The one mutation that `seed` picks among `mutations(source, first_line)`; None when there is none."""
    found = mutations(source, first_line)
    return found[seed % len(found)] if found else None

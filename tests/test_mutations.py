"""The mutation operators: each one makes the documented change at one site, and nothing else moves."""

from __future__ import annotations

import ast

import pytest

from agent.tasks.mutations import OPERATORS, mutate, mutations


def only(source: str, operator: str) -> list[tuple[str, str]]:
    return [(m.before, m.after) for m in mutations(source) if m.operator == operator]


@pytest.mark.parametrize("operator, source, expected", [
    ("flip_comparison", "def f(a, b):\n    return a < b\n", [("a < b", "a <= b")]),
    ("flip_comparison", "def f(a, b):\n    return a == b != 3\n", [("a == b != 3", "a != b != 3")]),
    ("flip_comparison", "def f(x, s):\n    return x not in s\n", [("x not in s", "x in s")]),
    ("off_by_one", "def f(xs):\n    return [xs[0] for i in range(1, 5)]\n", [("0", "1"), ("1", "2"), ("5", "6")]),
    ("off_by_one", "def f(s):\n    return s[::-1]\n", [("1", "2")]),
    ("off_by_one", "def f(n):\n    return n + 1\n", []),
    ("swap_operands", "def f(a, b):\n    return a - b\n", [("a - b", "b - a")]),
    ("swap_operands", "def f(a, b):\n    return a + b\n", []),
    ("arithmetic", "def f(a, b):\n    a += 1\n    return a + b\n", [("a += 1", "a -= 1"), ("a + b", "a - b")]),
    ("boolean_operator", "def f(a, b):\n    return a and b\n", [("a and b", "a or b")]),
    ("drop_not", "def f(a):\n    return not a\n", [("not a", "a")]),
    ("drop_not", "def f(x, a, b):\n    return x and not (a or b)\n", [("not (a or b)", "(a or b)")]),
    ("flip_constant", "def f():\n    return True\n", [("True", "False")]),
])
def test_operator(operator: str, source: str, expected: list[tuple[str, str]]) -> None:
    assert only(source, operator) == expected


def test_every_operator_is_documented_and_used() -> None:
    source = ("def f(a, b, s):\n    if not a and b:\n        a += 1\n"
              "    return a < b, s[0], a - b, True\n")
    assert {m.operator for m in mutations(source)} == set(OPERATORS)


def test_a_mutation_changes_one_site_and_keeps_the_rest_byte_for_byte() -> None:
    source = ('def f(a, b):\n    """Compare.\n\n    >>> f(1, 2)\n    True\n    """\n'
              "    # keep this comment  \n    return a < b   # and this one\n")
    found = mutations(source)
    assert [m.operator for m in found] == ["flip_comparison"]
    m = found[0]
    assert m.source == source.replace("a < b", "a <= b") and m.line == 8
    assert ast.dump(ast.parse(m.source)) != ast.dump(ast.parse(source))


def test_first_line_protects_the_prompt() -> None:
    source = "def helper(x):\n    return x < 1\n\n\ndef f(a):\n    return a > 2\n"
    assert [(m.before, m.line) for m in mutations(source, first_line=5)] == [("a > 2", 6)]
    assert [m.before for m in mutations(source)] == ["x < 1", "a > 2"]


def test_the_seed_picks_the_mutation() -> None:
    source = "def f(a, b):\n    return a < b and a - b > 0\n"
    every = mutations(source)
    assert len(every) >= 4
    picked = [mutate(source, seed) for seed in range(len(every))]
    assert picked == every  # seed k picks the k-th (mod the count), the same on every machine
    assert mutate(source, len(every) + 1) == every[1]
    assert mutate("def f():\n    return x\n", 7) is None

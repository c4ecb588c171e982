"""No widget, screen or app of ours hides a Textual method behind a value, nor touches Textual's privates.

`TranscriptView.query` was a string: Textual calls `widget.query("*")` on a double-click, and the app
died. Setting a Textual property (`title`, `virtual_size`...) is what they are for; replacing one of
Textual's methods with a value is not. And a private name of ours that Textual also uses (the footer set
Textual's `_bindings_ready`) either changes Textual's state or breaks with its next release.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
from pathlib import Path

from textual.dom import DOMNode

import tui

ROOT = Path(tui.__file__).parent


def our_node_classes() -> list[type[DOMNode]]:
    found = []
    for info in pkgutil.walk_packages([str(ROOT)], prefix="tui."):
        module = importlib.import_module(info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, DOMNode) and cls.__module__ == module.__name__:
                found.append(cls)
    return found


def textual_base(cls: type) -> type:
    """The nearest Textual class `cls` derives from."""
    return next(base for base in cls.__mro__ if base.__module__.startswith("textual."))


def is_method(base: type, name: str) -> bool:
    attr = inspect.getattr_static(base, name, None)
    return inspect.isfunction(attr) or isinstance(attr, (staticmethod, classmethod))


@functools.cache
def instance_attributes(cls: type) -> set[str]:
    """Names the class's own methods assign on `self`."""
    tree = ast.parse(inspect.getsource(cls))
    names = set()
    for node in ast.walk(tree):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(
            node, (ast.AnnAssign, ast.AugAssign)) else []
        while targets:
            t = targets.pop()
            if isinstance(t, (ast.Tuple, ast.List)):
                targets.extend(t.elts)
            elif isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self":
                names.add(t.attr)
    return names


def test_the_classes_are_found() -> None:
    names = {cls.__name__ for cls in our_node_classes()}
    assert {"TranscriptView", "SearchBar", "TranscriptScreen", "AgentTuiApp"} <= names


def test_no_value_hides_a_textual_method() -> None:
    clashes = []
    for cls in our_node_classes():
        base = textual_base(cls)
        for name in instance_attributes(cls):
            if is_method(base, name):
                clashes.append(f"{cls.__name__}.{name} (self.{name} = ...)")
        for name, attr in vars(cls).items():
            if is_method(base, name) and not (inspect.isfunction(attr) or isinstance(attr, (staticmethod, classmethod))):
                clashes.append(f"{cls.__name__}.{name} ({type(attr).__name__})")
    assert clashes == []


GENERATED = {"_computes", "_css_type_name", "_css_type_names", "_decorated_handlers", "_inherit_bindings",
             "_inherit_component_classes", "_inherit_css", "_merged_bindings", "_reactives"}
"""Private class attributes Textual's metaclass writes on every class (ours included)."""


def textual_private_names(cls: type) -> set[str]:
    names: set[str] = set()
    for base in cls.__mro__:
        if base.__module__.startswith("textual."):
            names |= {n for n in instance_attributes(base) | set(vars(base)) if n.startswith("_")}
    return names


def test_no_private_textual_name_is_ours_too() -> None:
    clashes = []
    for cls in our_node_classes():
        ours = {n for n in instance_attributes(cls) | set(vars(cls)) if n.startswith("_") and not n.startswith("__")}
        clashes += [f"{cls.__name__}.{n}" for n in sorted((ours & textual_private_names(cls)) - GENERATED)]
    assert clashes == []

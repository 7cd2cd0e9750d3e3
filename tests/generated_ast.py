"""Reading a generated file's structure with `ast`: its classes, their methods and the conditions of the
`if`s in them (what the family and guard tests pin, rather than incidental text)."""
from __future__ import annotations

import ast


def class_def(tree: ast.Module, name: str) -> ast.ClassDef:
    return next(n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name)


def method(cls: ast.ClassDef, name: str) -> ast.FunctionDef:
    return next(f for f in cls.body if isinstance(f, ast.FunctionDef) and f.name == name)


def guards(fn: ast.FunctionDef) -> list[str]:
    return [ast.unparse(n.test) for n in ast.walk(fn) if isinstance(n, ast.If)]

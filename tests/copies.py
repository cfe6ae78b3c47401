"""A fabricated class for measuring the similarity report (issue 25): independent answers and disguised copies.

For every exercise with correct alternatives in ``tests/answers/<chapter>.yaml``, the solution and each
``right`` answer are independently written answers (student ``own<i>``); each one is also copied by
``copy<i>``, who renames every variable and argument, swaps statements that do not depend on each other,
and adds comments. A copy pair is (own<i>, copy<i>); every other pair is independent work.

Written answers: three independent answers to one question, and a copy of each with its sentences
reordered and a sentence added.
"""

from __future__ import annotations

import ast
import random
from dataclasses import dataclass

from wrong_answers import read_answers
from workbook import chapter_ids, exercises

COMMENTS = ["# build the model step by step", "# see the lecture notes", "# this part was tricky",
            "# TODO: tidy up", "# works on the small test", "# keras does the rest"]


@dataclass(frozen=True)
class Case:
    chapter: str
    grade_id: str
    code: bool
    answers: dict[str, str]  # student -> answer
    copies: frozenset[tuple[str, str]]  # the pairs that are copies (sorted tuples)


class Rename(ast.NodeTransformer):
    """Every local name and argument renamed (the function's own name kept: the tests call it; ``self`` kept,
    as any student keeps it)."""

    def __init__(self, names: set[str]):
        self.mapping = {name: f"v_{index}_{name[::-1]}" for index, name in enumerate(sorted(names))}

    def visit_Name(self, node):
        node.id = self.mapping.get(node.id, node.id)
        return node

    def visit_arg(self, node):
        node.arg = self.mapping.get(node.arg, node.arg)
        return node

    def visit_keyword(self, node):  # a call's keyword is the callee's parameter name: keep it
        self.generic_visit(node)
        return node


def local_names(tree) -> set[str]:
    """Names assigned or taken as arguments inside functions, and the names of nested functions."""
    names = set()
    for function in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.Lambda))]:
        names |= {a.arg for a in ast.walk(function.args) if isinstance(a, ast.arg)}
        for node in ast.walk(function):
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
    return names


def reads_and_writes(statement) -> tuple[set[str], set[str]]:
    names = [n for n in ast.walk(statement) if isinstance(n, ast.Name)]
    reads = {n.id for n in names if isinstance(n.ctx, ast.Load)}
    return reads, {n.id for n in names if not isinstance(n.ctx, ast.Load)}


def swap_independent(body: list, rng: random.Random) -> None:
    """Swap adjacent statements that neither read what the other writes nor return, in place."""
    for index in range(len(body) - 1):
        a, b = body[index], body[index + 1]
        if any(isinstance(s, (ast.Return, ast.Expr, ast.FunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom))
               for s in (a, b)):
            continue
        (reads_a, writes_a), (reads_b, writes_b) = reads_and_writes(a), reads_and_writes(b)
        if not (writes_a & (reads_b | writes_b) or writes_b & reads_a) and rng.random() < 0.8:
            body[index], body[index + 1] = b, a


def disguise(code: str, seed: int) -> str:
    """A copy of ``code`` with renamed variables, reordered statements and added comments."""
    rng = random.Random(seed)
    tree = ast.parse(code)
    names = local_names(tree) - {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    names -= {"self", "cls"}
    tree = Rename(names).visit(tree)
    for node in ast.walk(tree):
        for field in ("body", "orelse"):
            if isinstance(getattr(node, field, None), list):
                swap_independent(getattr(node, field), rng)
    lines = []
    for line in ast.unparse(tree).splitlines():
        if line.strip() and not line.lstrip().startswith(("def ", "class ", "@", ")", "]")) and rng.random() < 0.3:
            lines.append(line[:len(line) - len(line.lstrip())] + rng.choice(COMMENTS))
        lines.append(line)
    return "\n".join(lines) + "\n"


WRITTEN = [
    "A linear autoencoder trained with the squared error finds the same subspace as PCA. "
    "Its weights need not be orthogonal, so the code is a rotated and scaled version of the principal components. "
    "Adding a non-linearity lets it bend the subspace, which PCA cannot do.",
    "PCA keeps the directions of largest variance, and so does an undercomplete linear network when its loss "
    "is MSE: the optimum spans the top principal subspace. The difference is the basis: gradient descent "
    "gives no ordering of components and no orthogonality.",
    "Both compress the digits to a few numbers. I think the autoencoder is better because it is trained with "
    "Adam and can use ReLU, while PCA is a fixed formula; on Fashion-MNIST the reconstructions looked sharper.",
]


def reword(text: str, seed: int) -> str:
    """A copy of a written answer: its sentences reordered and one sentence added."""
    rng = random.Random(seed)
    sentences = [s.strip() for s in text.split(". ") if s.strip()]
    rng.shuffle(sentences)
    return ". ".join([*sentences, "That is what I understood from the lecture."]).replace("..", ".")


def pair(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a < b else (b, a)


def with_copies(chapter: str, grade_id: str, code: bool, originals: list[str], disguiser) -> Case:
    answers = {f"own{i}": text for i, text in enumerate(originals)}
    answers |= {f"copy{i}": disguiser(text, i) for i, text in enumerate(originals)}
    return Case(chapter, grade_id, code, answers, frozenset(pair(f"own{i}", f"copy{i}") for i in range(len(originals))))


def cases() -> list[Case]:
    found = []
    for chapter in chapter_ids():
        try:
            answers = read_answers(chapter)
        except FileNotFoundError:
            continue
        for exercise in exercises(chapter):
            rights = [r["code"] for r in (answers.get(exercise.answer_id) or {}).get("right", [])]
            if rights:
                found.append(with_copies(chapter, exercise.answer_id, True, [exercise.solution, *rights], disguise))
    found.append(with_copies(chapter_ids()[0], "written", False, WRITTEN, reword))
    return found

"""Only permissive licences ship with Vesalius (DESIGN.md): no GPL, LGPL or AGPL at run time."""

import importlib.metadata as metadata
import re

from packaging.requirements import Requirement

# docutils is public domain/BSD; its GPL part is an Emacs mode that is not in the wheel.
# scipy is BSD-3-Clause; its wheel's licence text quotes the GCC runtime (GPL with the runtime
# library exception, which permits any licence for the program) and libquadmath (LGPL, used
# unmodified as a shared library).
REVIEWED = {"docutils", "scipy"}
COPYLEFT = re.compile(r"\b(A?GPL|LGPL|GNU (Lesser |Affero )?General Public)", re.IGNORECASE)


def _runtime_closure(root: str) -> set[str]:
    seen: set[str] = set()
    todo = [root]
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = metadata.requires(name) or []
        except metadata.PackageNotFoundError:
            continue
        for spec in requires:
            requirement = Requirement(spec)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return seen


def _licence_text(name: str) -> str:
    meta = metadata.metadata(name)
    classifiers = [c for c in meta.get_all("Classifier") or [] if c.startswith("License")]
    return " ".join([meta.get("License-Expression") or "", meta.get("License") or "", *classifiers])


def test_runtime_dependencies_are_permissively_licensed() -> None:
    offenders = {}
    for name in sorted(_runtime_closure("vesalius") - {"vesalius"} - REVIEWED):
        try:
            text = _licence_text(name)
        except metadata.PackageNotFoundError:
            continue  # an optional extra that is not installed
        if COPYLEFT.search(text):
            offenders[name] = text
    assert offenders == {}, f"copyleft licences at run time: {offenders}"

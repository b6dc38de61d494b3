"""Only permissive licences ship with Vesalius (DESIGN.md): no GPL or AGPL at run time, and LGPL
only for the libraries DESIGN.md names as used unmodified (psycopg)."""

import importlib.metadata as metadata
import re

from packaging.requirements import Requirement

# docutils is public domain/BSD; its GPL part is an Emacs mode that is not in the wheel.
# scipy is BSD-3-Clause; its wheel's licence text quotes the GCC runtime (GPL with the runtime
# library exception, which permits any licence for the program) and libquadmath (LGPL, used
# unmodified as a shared library).
REVIEWED = {"docutils", "scipy"}
# psycopg 3 (and its binary build) is LGPL-3.0: imported as an ordinary library, never
# modified or vendored, which DESIGN.md allows. Nothing else may be LGPL, and these two may
# not become GPL or AGPL.
UNMODIFIED_LGPL = {"psycopg", "psycopg-binary"}
LGPL_ONLY = re.compile(r"^\s*LGPL-3\.0(-only|-or-later)?\s*$")
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
        if name in UNMODIFIED_LGPL:
            if not LGPL_ONLY.match(text):
                offenders[name] = text
        elif COPYLEFT.search(text):
            offenders[name] = text
    assert offenders == {}, f"copyleft licences at run time: {offenders}"


def test_the_postgresql_driver_is_psycopgs_binary_build() -> None:
    # The C implementation, not the pure-Python fallback: the request floor depends on it.
    import psycopg

    assert psycopg.pq.__impl__ == "binary"

"""Rule paths from URLs: relative to rules_folder, and never anything outside it.

A ``{path}`` is refused (``BadPath``, HTTP 400) when it is absolute, holds ``..`` (also
percent-encoded: the caller decodes once, and a second encoding leaves a ``%``, which
is refused too), a hidden segment, a backslash or a control character, does not end in
``.yaml``/``.yml``, or resolves (symlinks followed) to a place outside the folder. Every
read, write and delete goes through ``RulesFolder.resolve``.
"""

from __future__ import annotations

import errno
import os
import re
import tempfile
from dataclasses import dataclass

SEGMENT = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.+ -]*$")
MAX_PATH = 255


class BadPath(ValueError):
    """A path the console refuses (HTTP 400)."""


@dataclass(frozen=True)
class RulePath:
    rel: str  # as the user names it: "team/errors.yaml"
    real: str  # absolute, symlinks resolved, inside the folder

    @property
    def base(self) -> bool:
        """An import base (``_name.yaml``): loaded only through ``import:``, never as a rule."""
        return os.path.basename(self.rel).startswith("_")


class RulesFolder:
    def __init__(self, folder: str, subdirectories: bool = True):
        self.folder = os.path.abspath(folder)
        self.subdirectories = subdirectories

    @property
    def real(self) -> str:
        return os.path.realpath(self.folder)

    def resolve(self, rel: str) -> RulePath:
        """The checked path, or BadPath saying why not."""
        if not rel or len(rel) > MAX_PATH:
            raise BadPath("a rule path is a file name inside rules_folder, such as team/errors.yaml")
        if "\\" in rel or "%" in rel or any(ord(c) < 32 for c in rel):
            raise BadPath(f"{rel!r}: only letters, digits and . _ - + space may name a rule file")
        if rel.startswith("/") or os.path.isabs(rel):
            raise BadPath(f"{rel!r}: absolute paths are refused; name the file relative to rules_folder")
        segments = rel.split("/")
        if any(s in ("", ".", "..") for s in segments):
            raise BadPath(f"{rel!r}: '..', '.' and empty path segments are refused")
        if any(s.startswith(".") for s in segments):
            raise BadPath(f"{rel!r}: hidden files and folders are not rules")
        if not all(SEGMENT.match(s) for s in segments):
            raise BadPath(f"{rel!r}: only letters, digits and . _ - + space may name a rule file")
        if not rel.endswith((".yaml", ".yml")):
            raise BadPath(f"{rel!r}: a rule file name ends in .yaml or .yml")
        root = self.real
        real = os.path.realpath(os.path.join(root, *segments))
        if not real.startswith(root + os.sep):
            raise BadPath(f"{rel!r} leads outside rules_folder (a symlink?); refused")
        if os.path.exists(real) and not os.path.isfile(real):
            raise BadPath(f"{rel!r} is not a file")
        return RulePath("/".join(segments), real)

    def relative(self, path: str) -> str:
        """A file under the folder as the console names it (``team/x.yaml``)."""
        return os.path.relpath(path, self.folder).replace(os.sep, "/")

    def read_only(self) -> str | None:
        """Why the console must not write here, or None. A Kubernetes ConfigMap (or any
        projected volume: the ``..data`` symlink) is rewritten by the kubelet, so edits
        would vanish; a read-only mount or a folder we may not write is refused by the OS."""
        root = self.folder
        if not os.path.isdir(root):
            return f"rules_folder {root} does not exist"
        if os.path.islink(os.path.join(root, "..data")):
            return ("the rules come from a Kubernetes ConfigMap (a '..data' symlink in rules_folder): "
                    "edits here would be overwritten; change the ConfigMap (or its source in git) instead")
        try:
            probe, name = tempfile.mkstemp(prefix=".logalert-probe-", dir=root)
        except OSError as exc:
            if exc.errno == errno.EROFS:
                return f"rules_folder {root} is on a read-only file system"
            return f"rules_folder {root} is not writable by this process ({exc.strerror})"
        os.close(probe)
        os.unlink(name)
        return None

    def loaded_as_rule(self, path: RulePath) -> str | None:
        """Why a file at this path would not be loaded as a rule by the daemon, or None."""
        if path.base:
            return "file names starting with _ are import bases: the daemon does not load them as rules"
        if "/" in path.rel and not self.subdirectories:
            return "scan_subdirectories is false: the daemon loads only files directly in rules_folder"
        return None

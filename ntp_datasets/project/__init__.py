"""The project room: what a Lean project is on disk (modules, imports, import order) and where
projects come from (specs: directories, git repositories at a commit, ntp-toolkit config files),
and what they depend on (their lakefile's ``require``s).

Nothing here runs Lean; git runs to check out a spec's repository and to read a project's
history (``history``: when its files and declarations were created; ``lean_text`` reads
old versions of its files without Lean).
"""

from ntp_datasets.project.lakefile import Require, check_dependencies, read_requires
from ntp_datasets.project.modules import LeanModule, LeanProject, module_name, parse_imports
from ntp_datasets.project.specs import ResolvedProject, check_toolchain, resolve_projects

__all__ = ["LeanModule", "LeanProject", "Require", "ResolvedProject", "check_dependencies", "check_toolchain",
           "module_name", "parse_imports", "read_requires", "resolve_projects"]

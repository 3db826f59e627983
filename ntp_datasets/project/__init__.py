"""The project room: what a Lean project is on disk (modules, imports, import order) and where
projects come from (specs: directories, git repositories at a commit, ntp-toolkit config files).

Nothing here runs Lean; git runs only to check out a spec's repository.
"""

from ntp_datasets.project.modules import LeanModule, LeanProject, module_name, parse_imports
from ntp_datasets.project.specs import ResolvedProject, check_toolchain, resolve_projects

__all__ = ["LeanModule", "LeanProject", "ResolvedProject", "check_toolchain", "module_name", "parse_imports",
           "resolve_projects"]

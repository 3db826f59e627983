"""The project room: what a Lean project is on disk (a Lake package and its configuration,
modules, imports, import order), where projects come from (specs: directories, git
repositories at a commit or at the newest commit fitting the Lean in use, ntp-toolkit config
files), and what they depend on (their lakefile's ``require``s, their manifest's packages).

Nothing here runs Lean; git runs to check out a spec's repository and to read a project's
history (``history``: when its files and declarations were created; ``lean_text`` reads
old versions of its files without Lean).
"""

from ntp_datasets.project.lakefile import (
    Glob,
    LakefileConfig,
    LeanExeConfig,
    LeanLibConfig,
    LeanOption,
    Require,
    read_lakefile,
    read_requires,
)
from ntp_datasets.project.dependencies import Dependency, resolve_dependencies
from ntp_datasets.project.modules import LeanModule, LeanProject, load_project, module_name, parse_imports
from ntp_datasets.project.package import (
    LakeManifest,
    LakePackage,
    LeanSettings,
    ManifestPackage,
    detect_license,
    read_manifest,
    read_package,
)
from ntp_datasets.project.specs import (
    TOOLCHAIN_REVISION,
    ResolvedProject,
    check_toolchain,
    checkout_fitting_toolchain,
    resolve_projects,
)
from ntp_datasets.project.versions import EMBEDDED_LEAN, LeanInUse, LeanVersion, lean_in_use, parse_version

__all__ = ["EMBEDDED_LEAN", "Dependency", "Glob", "LakeManifest", "LakePackage", "LakefileConfig", "LeanExeConfig",
           "LeanInUse", "LeanLibConfig", "LeanModule", "LeanOption", "LeanProject", "LeanSettings", "LeanVersion",
           "ManifestPackage", "Require", "ResolvedProject", "TOOLCHAIN_REVISION", "check_toolchain",
           "checkout_fitting_toolchain", "detect_license", "lean_in_use", "load_project", "module_name",
           "parse_imports", "parse_version", "read_lakefile", "read_manifest", "read_package", "read_requires",
           "resolve_dependencies", "resolve_projects"]

"""``premises`` records: the constants each declaration's value uses."""

from __future__ import annotations

from collections.abc import Iterator

from ntp_datasets.extraction import ModuleOutput
from ntp_datasets.records.base import Constant, decl_id, events_of, record


@record
class PremisesRecord:
    """The constants a declaration's value uses: Prop-typed premises and other constants."""

    declId: str
    name: str
    module: str
    file: str
    line: int
    premises: list[Constant]
    constants: list[Constant]
    project: str


def premises_records(module_output: ModuleOutput) -> Iterator[PremisesRecord]:
    """Yield a ``PremisesRecord`` per declaration whose value the extractor saw."""
    for d in events_of(module_output, "declaration"):
        if "constants" not in d:
            continue
        used = d["constants"]
        yield PremisesRecord(
            declId=decl_id(module_output.module, d), name=d.get("name") or "", module=module_output.module,
            file=module_output.file, line=d["line"],
            premises=[_constant(c, module_output) for c in used if c["isProp"]],
            constants=[_constant(c, module_output) for c in used if not c["isProp"]],
            project=module_output.project,
        )


def _constant(constant: dict, module_output: ModuleOutput) -> Constant:
    """An extractor constant as a ``Constant``; the extractor leaves ``module`` empty for the
    module being extracted."""
    return Constant(name=constant["name"], module=constant.get("module") or module_output.module)

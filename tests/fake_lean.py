"""A stand-in for `lean --run Extract.lean JOB.json` that speaks the extractor's protocol
(progress lines, the job's `modules`, then its `queue` directory) without Lean, for tests of
the workers and the scheduler. Run as `python fake_lean.py --run EXTRACT JOB`.

It says `ready` once started. Per module it checks that the `.olean` of every project module the
file imports exists in the job's search path (an importer started too early fails at import, as
Lean's would); then every other non-empty line is a "command", announced with its byte offset
(`command`, then `elaborated` after the last), unless the job's `skip` names it; then it writes one
event `{"kind": "fake", "module": NAME, "imports": [...]}` (and an error message of phase `skip`
for each skipped command) and an `.olean`. Lines that act when they run: `-- fake: die` exits the
process; `-- fake: die-once` only the first time (a file beside the module remembers); `-- fake:
hang` waits forever without using the CPU; `-- fake: spin` computes forever. `-- fake:
die-at-start` anywhere exits before the first command; `-- fake: exit-after` exits after the
module is done (as the extractor past its pinned-memory limit); `-- fake: garbage` makes it write
events that are not JSON. Every process appends `PID START|MODULE NAME|COMMAND NAME LINE` lines to
`$FAKE_LEAN_LOG` (and `PID NO-OLEAN NAME` for a module whose job asks for no `.olean`, as under
`lake env`).
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from pathlib import Path

IMPORT = re.compile(r"^import\s+(\S+)", re.MULTILINE)


def log(text: str) -> None:
    if os.environ.get("FAKE_LEAN_LOG"):
        with open(os.environ["FAKE_LEAN_LOG"], "a") as f:
            f.write(f"{os.getpid()} {text}\n")


def progress(token: str, **fields) -> None:
    print(f"@@ntp {token} {json.dumps(fields)}", flush=True)


def die(name: str) -> None:
    sys.stderr.write(f"fake Lean dies on {name}\n")
    sys.stderr.flush()
    os._exit(3)


def run_command(name: str, text: str, path: str, line: int) -> None:
    """Act on the directive of one command line (see the module docstring)."""
    once = Path(f"{path}.died-{line}")
    if text.strip() == "-- fake: die" or (text.strip() == "-- fake: die-once" and not once.exists()):
        once.touch()
        die(name)
    if text.strip() == "-- fake: hang":
        time.sleep(3600)
    if text.strip() == "-- fake: spin":
        while True:
            pass


def run_module(token: str, job: dict, search_path: list[str]) -> None:
    name, source = job["name"], Path(job["file"]).read_text()
    log(f"MODULE {name}")
    progress(token, event="start", module=name)
    imports = IMPORT.findall(source)
    project = Path(job["file"]).parent
    if "olean" in job:
        missing = [i for i in imports if project.joinpath(*i.split(".")).with_suffix(".lean").exists()
                   and not any(Path(d).joinpath(*i.split(".")).with_suffix(".olean").exists() for d in search_path)]
    else:  # under `lake env`: Lake built the project's `.olean`s
        log(f"NO-OLEAN {name}")
        missing = []
    library = ("Init", "Std", "Lean")
    missing += [i for i in imports if i.split(".")[0] not in library
                and not project.joinpath(*i.split(".")).with_suffix(".lean").exists()]
    if missing:
        progress(token, event="failed", module=name, stage="import", error="imports failed",
                 messages=[{"text": f"unknown module prefix '{missing[0]}'"}])
        return
    if "-- fake: die-at-start" in source:
        die(name)
    skip = {entry["pos"]: entry for entry in job.get("skip", [])}
    skipped, pos = [], 0
    for number, text in enumerate(source.splitlines(keepends=True), 1):
        if text.strip() and not IMPORT.match(text):
            if pos in skip:
                skipped.append({"kind": "message", "severity": "error", "line": number, "column": 0,
                                "text": skip[pos]["message"], "phase": "skip", "errorKind": skip[pos]["kind"],
                                "declName": ""})
            else:
                log(f"COMMAND {name} {number}")
                progress(token, event="command", module=name, pos=pos, line=number)
                run_command(name, text, job["file"], number)
        pos += len(text.encode())
    progress(token, event="elaborated", module=name)
    out = Path(job["out"])
    out.parent.mkdir(parents=True, exist_ok=True)
    if "-- fake: garbage" in source:  # as a process whose memory is corrupted
        out.write_bytes(b"\xff not JSON\n")
    else:
        events = [{"kind": "fake", "module": name, "imports": imports}, *skipped]
        out.write_text("".join(json.dumps(e) + "\n" for e in events))
    if job.get("olean"):
        Path(job["olean"]).parent.mkdir(parents=True, exist_ok=True)
        Path(job["olean"]).write_text(f"olean of {name}\n")
    progress(token, event="done", module=name, ms=1, phases={"elaborate": 1})
    if "-- fake: exit-after" in source:  # as the extractor past its pinned-memory limit
        sys.exit(0)


def main() -> None:
    job = json.loads(Path(sys.argv[-1]).read_text())
    log("START")
    token, search_path = job["token"], job.get("searchPath", [])
    progress(token, event="ready")
    for module in job["modules"]:
        run_module(token, module, search_path)
    if job.get("queue"):
        queue, n = Path(job["queue"]), 0
        while True:
            entry = queue / f"{n}.json"
            if not entry.exists():
                time.sleep(0.01)
                continue
            run_module(token, json.loads(entry.read_text()), search_path)
            n += 1
    progress(token, event="finished")


if __name__ == "__main__":
    main()

"""A stand-in for `lean --run Extract.lean JOB.json` that speaks the extractor's protocol
(progress lines, the job's `modules`, then its `queue` directory) without Lean, for tests of
the workers and the scheduler. Run as `python fake_lean.py --run EXTRACT JOB`.

Per module it checks that the `.olean` of every project module the file imports exists in
the job's search path (an importer started too early fails at import, as Lean's would), then
writes one event `{"kind": "fake", "module": NAME, "imports": [...]}` and an `.olean`.
A line `-- fake: die` in a module makes the process exit once it started it; `-- fake:
die-once` only the first time (a file beside the module remembers); `-- fake: hang` makes it
wait forever; `-- fake: garbage` makes it write events that are not JSON. Every process appends `PID START|MODULE NAME` lines to `$FAKE_LEAN_LOG` (and
`PID NO-OLEAN NAME` for a module whose job asks for no `.olean`, as under `lake env`).
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


def run_module(token: str, job: dict, search_path: list[str]) -> None:
    name, source = job["name"], Path(job["file"]).read_text()
    log(f"MODULE {name}")
    progress(token, event="start", module=name)
    if "-- fake: hang" in source:
        time.sleep(3600)
    once = Path(job["file"] + ".died")
    if "-- fake: die\n" in source or ("-- fake: die-once" in source and not once.exists()):
        once.touch()
        sys.stderr.write(f"fake Lean dies on {name}\n")
        sys.stderr.flush()
        os._exit(3)
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
    out = Path(job["out"])
    out.parent.mkdir(parents=True, exist_ok=True)
    if "-- fake: garbage" in source:  # as a process whose memory is corrupted
        out.write_bytes(b"\xff not JSON\n")
    else:
        out.write_text(json.dumps({"kind": "fake", "module": name, "imports": imports}) + "\n")
    if job.get("olean"):
        Path(job["olean"]).parent.mkdir(parents=True, exist_ok=True)
        Path(job["olean"]).write_text(f"olean of {name}\n")
    progress(token, event="done", module=name, ms=1, phases={"elaborate": 1})


def main() -> None:
    job = json.loads(Path(sys.argv[-1]).read_text())
    log("START")
    token, search_path = job["token"], job.get("searchPath", [])
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

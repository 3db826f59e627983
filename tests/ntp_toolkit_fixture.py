"""A small ntp-toolkit output directory, as ntp-toolkit's pipeline would write it for a project
``demo`` of two modules: one file per module in every task folder, each line a JSON object with
exactly the fields ntp-toolkit's code writes (keys sorted and no spaces, as Lean's
``Json.compress`` prints them), and ``Modules.jsonl``.

The values follow ntp-toolkit's code: ``declId`` ``Module.LINE_COLUMN.HASH``; ``decl`` the text
up to ``:=`` with the whitespace before it; FullProof's ``file`` under the package's directory;
private names as Lean stores them; ``Imports`` listing the module itself (the only ``isDirect``
one) and its closure (cut to a few ``Init`` modules here); ``StateComments`` with ntp-toolkit's
comments of the state before each one-line step, printed with a final newline.
"""

from __future__ import annotations

import json
from pathlib import Path

BASIC = """\
namespace Demo

/-- Adding zero. -/
theorem add_zero' (n : Nat) : n + 0 = n := by
  simp

theorem two : 1 + 1 = 2 := by
  decide

end Demo
"""

LISTS = """\
import Demo.Basic

namespace Demo

private theorem nil_append' (xs : List Nat) : [] ++ xs = xs := by
  simp

theorem len_two : [1, 2].length = 2 := by
  sorry

end Demo
"""

SOURCES = {"Demo.Basic": BASIC, "Demo.Lists": LISTS}
HASHES = {"Demo.Basic": "Qx7bTz0LmPq2Rs9", "Demo.Lists": "Kd3Wv8NcYh5Jf1G"}

# (module, first token of the command, name as FullProof writes it, name as Lean stores it,
#  tactic, state before it, hammer recommendation)
DECLARATIONS = [
    ("Demo.Basic", "/-- Adding zero. -/", "Demo.add_zero'", "Demo.add_zero'", "simp", "n : Nat\n⊢ n + 0 = n",
     ["(Nat.add_zero, notInSimpAll)"]),
    ("Demo.Basic", "theorem two", "Demo.two", "Demo.two", "decide", "⊢ 1 + 1 = 2", []),
    ("Demo.Lists", "private theorem", "Demo.nil_append'", "_private.Demo.Lists.0.Demo.nil_append'", "simp",
     "xs : List Nat\n⊢ [] ++ xs = xs", ["(List.nil_append, notInSimpAll)"]),
    ("Demo.Lists", "theorem len_two", "Demo.len_two", "Demo.len_two", "sorry", "⊢ [1, 2].length = 2",
     ["(sorryAx, notInSimpAll)"]),
]


def compress(fields: dict) -> str:
    """A JSON line as Lean's ``Json.compress`` prints it."""
    return json.dumps(fields, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _parts(module: str, first: str, tactic: str) -> dict:
    """The slices of a module's source that ntp-toolkit's fields are made of."""
    source = SOURCES[module]
    start = source.index(first)
    assign = source.index(":=", start)
    tactic_at = source.index("  " + tactic, assign) + 2
    end = tactic_at + len(tactic)
    line = source[:start].count("\n") + 1
    return {"start": start, "assign": assign, "tactic": tactic_at, "end": end, "line": line, "source": source}


def tactic_prediction_line(module, first, tactic, state) -> dict:
    p = _parts(module, first, tactic)
    return {"declId": f"{module}.{p['line']}_0.{HASHES[module]}", "decl": p["source"][p["start"]:p["assign"]],
            "srcUpToTactic": p["source"][:p["tactic"]], "declUpToTactic": p["source"][p["start"]:p["tactic"]],
            "state": state, "nextTactic": tactic}


def full_proof_line(module, first, name) -> dict:
    source = SOURCES[module]
    p = _parts(module, first, next(d[4] for d in DECLARATIONS if d[1] == first))
    return {"file": f"demo/{module.replace('.', '/')}.lean", "module": module, "declName": name,
            "decl": source[p["start"]:p["assign"]], "proof": source[p["assign"]:p["end"]],
            "srcUpToDecl": source[:p["start"]]}


def state_comments(module: str) -> str:
    """ntp-toolkit's ``state_comments`` output (no ``--indent``): the state before each one-line
    step above it, and ``🎉 no goals`` below a step that leaves none; then IO.println's newline."""
    lines = SOURCES[module].split("\n")
    out = []
    for text in lines:
        step = next((d for d in DECLARATIONS if d[0] == module and text == "  " + d[4]), None)
        if step is None:
            out.append(text)
            continue
        state = "\n".join("  " + line for line in step[5].split("\n"))
        out += ["/-", state, "-/", text, "/-", "  🎉 no goals", "-/"]
    return "\n".join(out) + "\n"


def with_states_line(module, first, name) -> dict:
    """FullProofWithStates: full_proof_training_data run on the StateComments copy, a module of
    its own (``Examples.demo.StateComments.<Module>``)."""
    text = state_comments(module)[:-1]
    start = text.index(first)
    assign = text.index(":=", start)
    end = text.index("🎉 no goals\n-/", assign) + len("🎉 no goals\n-/")
    copy = f"Examples.demo.StateComments.{module}"
    return {"file": f"./Examples/demo/StateComments/{module.replace('.', '/')}.lean", "module": copy,
            "declName": name, "decl": text[start:assign], "proof": text[assign:end], "srcUpToDecl": text[:start]}


def premises_lines(module: str) -> list[dict]:
    dependents = {
        "Demo.add_zero'": [("Eq", False, True), ("HAdd.hAdd", True, True), ("Nat", False, True),
                           ("Nat.add_zero", True, True)],
        "Demo.two": [("Eq", False, True), ("Nat", False, True), ("of_decide_eq_true", True, True)],
        "_private.Demo.Lists.0.Demo.nil_append'": [("List", False, True), ("List.nil_append", True, False)],
        "Demo.len_two": [("sorryAx", True, True)],
    }
    return [{"name": lean_name, "dependents": [{"name": n, "explicit": e, "direct": d} for n, e, d in dependents[lean_name]]}
            for m, _, _, lean_name, *_ in DECLARATIONS if m == module]


def training_data_with_premises_lines(module: str) -> list[dict]:
    """Per theorem, the row of its whole proof term, then its tactic rows."""
    lines = []
    for m, first, _, lean_name, tactic, state, recommendation in DECLARATIONS:
        if m != module:
            continue
        p = _parts(module, first, tactic)
        source = p["source"]
        lines.append({"declName": lean_name, "srcUpToTactic": source[:p["end"]], "declUpToTactic": source[p["start"]:p["end"]],
                      "state": state, "nextTactic": None, "nextTacticHammerRecommendation": recommendation,
                      "declHammerRecommendation": recommendation})
        lines.append({"declName": lean_name, "srcUpToTactic": source[:p["tactic"]],
                      "declUpToTactic": source[p["start"]:p["tactic"]], "state": state, "nextTactic": tactic,
                      "nextTacticHammerRecommendation": recommendation, "declHammerRecommendation": recommendation})
    return lines


DECLARATION_INFO = {
    "Demo.add_zero'": ("∀ (n : Nat), n + 0 = n", ["(n : Nat)"], "n + 0 = n", "Adding zero."),
    "Demo.two": ("1 + 1 = 2", [], "1 + 1 = 2", None),
    "_private.Demo.Lists.0.Demo.nil_append'": ("∀ (xs : List Nat), [] ++ xs = xs", ["(xs : List Nat)"], "[] ++ xs = xs", None),
    "Demo.len_two": ("[1, 2].length = 2", [], "[1, 2].length = 2", None),
}


def declarations_lines(module: str) -> list[dict]:
    lines = []
    ordered = [d for d in DECLARATIONS if d[0] == module]
    for index, (m, first, _, lean_name, tactic, *_rest) in enumerate(ordered):
        source = SOURCES[module]
        start = source.index(first)
        stop = source.index(ordered[index + 1][1]) if index + 1 < len(ordered) else source.index("end Demo")
        type_, args, body, doc = DECLARATION_INFO[lean_name]
        head = f"/-- {doc} -/\n" if doc else ""
        lines.append({"name": lean_name, "kind": "theorem", "type": type_, "typeArgs": args, "typeBody": body,
                      "doc": doc, "signature": head + " ".join(["theorem", lean_name, *args, ": " + body]),
                      "line": source[:start].count("\n") + 1, "column": 0, "isProp": True, "isHumanTheorem": True,
                      "scope": ("import Demo.Basic\n\n" if module == "Demo.Lists" else "") + "namespace Demo",
                      "src": source[start:stop], "module": module})
    return lines


IMPORTS = {
    "Demo.Basic": [("Demo.Basic", True), ("Init", False), ("Init.Prelude", False)],
    "Demo.Lists": [("Demo.Basic", False), ("Demo.Lists", True), ("Init", False), ("Init.Prelude", False)],
}


def output_files() -> dict[str, str]:
    """{path relative to the base directory: text} of the whole output."""
    files = {"Modules.jsonl": "".join(compress({"name": m}) + "\n" for m in SOURCES)}

    def jsonl(rows):
        return "".join(compress(row) + "\n" for row in rows)

    for module in SOURCES:
        mine = [d for d in DECLARATIONS if d[0] == module]
        files[f"TacticPrediction/{module}.jsonl"] = jsonl(tactic_prediction_line(m, f, t, s) for m, f, _, _, t, s, _ in mine)
        files[f"FullProof/{module}.jsonl"] = jsonl(full_proof_line(m, f, n) for m, f, n, *_ in mine)
        files[f"FullProofWithStates/{module}.jsonl"] = jsonl(with_states_line(m, f, n) for m, f, n, *_ in mine)
        files[f"StateComments/{module}.lean"] = state_comments(module)
        files[f"Premises/{module}.jsonl"] = jsonl(premises_lines(module))
        files[f"TrainingDataWithPremises/{module}.jsonl"] = jsonl(training_data_with_premises_lines(module))
        files[f"Declarations/{module}.jsonl"] = jsonl(declarations_lines(module))
        files[f"Imports/{module}.jsonl"] = jsonl({"name": n, "isDirect": d} for n, d in IMPORTS[module])
        files[f"WithImports/{module}.lean"] = "import Hammer\nimport Aesop\n" + SOURCES[module] + "\n"
    return files


def write_local(base: Path, files: dict[str, str] | None = None) -> Path:
    """Write the output (or ``files``) under ``base``; return ``base``."""
    for rel, text in (files or output_files()).items():
        (base / rel).parent.mkdir(parents=True, exist_ok=True)
        (base / rel).write_bytes(text.encode("utf-8"))
    return base


def write_fs(fs, root: str, files: dict[str, str] | None = None) -> None:
    """Write the output (or ``files``) under ``root`` of an fsspec filesystem."""
    for rel, text in (files or output_files()).items():
        fs.pipe_file(f"{root}/{rel}", text.encode("utf-8"))

"""The code blocks of README.md and docs/*.md run as written, so the documentation cannot drift
from the code.

Every fenced block needs an info string: a language run here or one of the text kinds
(``text``, ``json`` ...). ``python`` blocks run as a script in a fresh folder;
``bash`` / ``sh`` blocks run line by line (continuations joined) with bash in a fresh folder,
where ``benches/``, ``examples/`` and ``tests/`` of the checkout are visible. Two kinds of
command are checked instead of run, through shell functions that record them:

- ``pip install ...``: the test environment already has the package; the extras asked for must
  exist in pyproject.toml, a path must be the checkout's root, a named package must be declared
  there, and a package installed before ``.[extras]`` must not be pinned by those extras (or the
  second install would replace it);
- ``bash .ci/run ...``: the script must exist and know every argument given (it is the test
  runner itself).

A block that cannot run here (a GPU, checkpoints the user supplies, a running server, a Ray
cluster, minutes of work) has ``<!-- no-run: reason -->`` on the line before its fence. It is
not run but still checked: Python must compile and its ``fastpitch_tpu`` imports must resolve;
``fastpitch-tpu`` command lines must pass the CLI's argument parser; scripts named must exist and
know the flags given. The no-run blocks are listed in a warning, and the README may hold only a
few.

Files a block says it writes (a quoted ``*.wav`` / ``*.safetensors`` in Python, ``-o PATH`` of a
``fastpitch-tpu`` command) must exist afterwards.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: mypy's own dependency
    import tomli as tomllib

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parent.parent
DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
PYTHON = ("python", "py")
SHELL = ("bash", "sh", "shell")
NOT_CODE = ("text", "json", "jsonl", "toml", "yaml", "ini", "csv", "diff")
"""Info strings of blocks that hold no commands (anything else is refused)."""
README_NO_RUN_LIMIT = 2
"""The README may hold at most this many blocks that are not run."""
TIMEOUT_S = 600
LINKED = ("benches", "examples", "tests")
"""Folders of the checkout visible from a shell block's working folder."""

FENCE = re.compile(r"^(?P<indent> {0,3})(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
NO_RUN = re.compile(r"^<!--\s*no-run:\s*(?P<reason>.*?)\s*-->$")
WRITTEN = re.compile(r"^[\w./-]*\w\.(wav|flac|ogg|safetensors)$")


class ReadmeNoRunBlocks(UserWarning):
    """Documentation blocks that are checked but not run."""


# -------------------------------------------------------------------------------------------
# Reading the blocks


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    code: str
    no_run: str | None  # the reason, for blocks that are not run

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"

    @property
    def kind(self) -> str:
        if self.lang in PYTHON:
            return "python"
        if self.lang in SHELL:
            return "bash"
        return "other"


def read_blocks(path: Path) -> list[Block]:
    lines = path.read_text(encoding="utf-8").split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        m = FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        fence, indent = m["fence"], len(m["indent"])
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines):
            close = lines[i].strip()
            if close.startswith(fence[0] * len(fence)) and not close.strip(fence[0]):
                break
            body.append(lines[i][indent:] if lines[i][:indent].isspace() else lines[i])
            i += 1
        else:
            raise AssertionError(f"{path.name}:{start + 1}: unclosed code fence")
        i += 1
        before = start - 1
        while before >= 0 and not lines[before].strip():
            before -= 1
        marker = NO_RUN.match(lines[before].strip()) if before >= 0 else None
        info = m["info"].strip().split()
        blocks.append(Block(path, start + 1, info[0].lower() if info else "", "\n".join(body),
                            marker["reason"] if marker else None))
    return blocks


ALL_BLOCKS = [block for path in DOCS for block in read_blocks(path)]
CODE_BLOCKS = [block for block in ALL_BLOCKS if block.kind != "other"]


def logical_lines(code: str) -> list[str]:
    """Shell lines with backslash continuations joined; blank and comment lines dropped."""
    out: list[str] = []
    pending = ""
    for raw in code.split("\n"):
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line = (pending + raw).strip()
        pending = ""
        if line and not line.startswith("#"):
            out.append(line)
    if pending.strip():
        out.append(pending.strip())
    return out


def commands(line: str) -> list[list[str]]:
    """The simple commands of a shell line (split at pipes, ``&&``, ``||`` and ``;``), without
    leading ``VAR=value`` assignments, redirections kept as tokens."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    result: list[list[str]] = [[]]
    for token in lexer:
        if token in ("|", "&&", "||", ";", "&"):
            result.append([])
        else:
            result[-1].append(token)
    cleaned = []
    for cmd in result:
        while cmd and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", cmd[0]):
            cmd = cmd[1:]
        if cmd:
            cleaned.append(cmd)
    return cleaned


# -------------------------------------------------------------------------------------------
# Checks of commands that are not run


def _pyproject() -> dict[str, Any]:
    with open(REPO / "pyproject.toml", "rb") as f:
        data: dict[str, Any] = tomllib.load(f)
    return data


def _extras() -> dict[str, list[Requirement]]:
    project = _pyproject()["project"]
    return {name: [Requirement(r) for r in reqs]
            for name, reqs in project.get("optional-dependencies", {}).items()}


def _requirements_of(extras: set[str]) -> list[Requirement]:
    """Every requirement the extras pull in, following the project's own extras."""
    own = canonicalize_name(_pyproject()["project"]["name"])
    table = _extras()
    seen: set[str] = set()
    todo = list(extras)
    out: list[Requirement] = []
    while todo:
        extra = todo.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for req in table.get(extra, []):
            if canonicalize_name(req.name) == own:
                todo.extend(req.extras)
            else:
                out.append(req)
    return out


def _declared_packages() -> set[str]:
    project = _pyproject()["project"]
    names: set[str] = {canonicalize_name(Requirement(r).name)
                       for r in project.get("dependencies", [])}
    for reqs in _extras().values():
        names.update(canonicalize_name(r.name) for r in reqs)
    return names


PIP_OPTIONS_WITH_VALUE = {"--index-url", "-i", "--extra-index-url", "-f", "--find-links",
                          "-c", "--constraint", "-r", "--requirement", "--target", "-t"}


def check_pip(args: list[str], where: str, installed_first: set[str]) -> None:
    """``pip ARGS`` as a document asks for it (not run: the package is installed already).
    ``installed_first``: packages named by earlier ``pip install`` lines of the same block
    (updated)."""
    assert args and args[0] == "install", f"{where}: only `pip install` is expected: pip {args}"
    own = canonicalize_name(_pyproject()["project"]["name"])
    extras_known = set(_extras())
    it = iter(args[1:])
    for arg in it:
        if arg in PIP_OPTIONS_WITH_VALUE:
            next(it, None)
            continue
        if arg.startswith("-"):
            continue
        m = re.match(r"^(?P<path>\.{1,2}(/[^\[]*)?|/[^\[]*)(\[(?P<extras>[^\]]*)\])?$", arg)
        if m:  # a local path, maybe with extras
            path = (REPO / m["path"]).resolve()
            assert path == REPO, f"{where}: `pip install {arg}` should install the checkout root"
            extras = {e.strip() for e in (m["extras"] or "").split(",") if e.strip()}
        else:
            req = Requirement(arg)
            if canonicalize_name(req.name) != own:
                assert canonicalize_name(req.name) in _declared_packages(), (
                    f"{where}: `pip install {arg}`: {req.name} is not declared in pyproject.toml")
                installed_first.add(canonicalize_name(req.name))
                continue
            extras = set(req.extras)
        unknown = extras - extras_known
        assert not unknown, (f"{where}: `pip install {arg}`: no such extra {sorted(unknown)} in "
                             f"pyproject.toml (known: {sorted(extras_known)})")
        for req in _requirements_of(extras):
            if canonicalize_name(req.name) in installed_first:
                pinned = [s for s in req.specifier if s.operator in ("==", "===")]
                assert not pinned, (
                    f"{where}: {req.name} is installed first, then `pip install {arg}` pins it "
                    f"({req}) and would replace it")


def check_ci_run(args: list[str], where: str) -> None:
    """``bash .ci/run ARGS``: the script exists and handles every argument."""
    script = REPO / ".ci" / "run"
    assert script.is_file(), f"{where}: .ci/run does not exist"
    code = "\n".join(line for line in script.read_text(encoding="utf-8").split("\n")
                     if not line.lstrip().startswith("#"))
    for arg in args:
        assert arg in code, f"{where}: .ci/run does not handle the argument {arg!r}"


def check_script_flags(script: Path, args: list[str], where: str) -> None:
    assert script.is_file(), f"{where}: {script.relative_to(REPO)} does not exist"
    source = script.read_text(encoding="utf-8")
    for arg in args:
        flag = arg.split("=", 1)[0]
        if flag.startswith("--"):
            assert re.search(rf"[\"']{re.escape(flag)}[\"']", source), (
                f"{where}: {script.relative_to(REPO)} has no option {flag}")


PARSE_ONLY = textwrap.dedent("""
    import argparse, json, sys

    class Parsed(BaseException):
        pass

    def parsed(original):
        def parse(self, *args, **kwargs):
            original(self, *args, **kwargs)
            raise Parsed()
        return parse

    for name in ("parse_args", "parse_intermixed_args"):
        setattr(argparse.ArgumentParser, name, parsed(getattr(argparse.ArgumentParser, name)))
    from fastpitch_tpu import cli

    results = []
    for argv in json.loads(sys.argv[1]):
        try:
            cli.main(argv)
            results.append("the command ran instead of stopping after its arguments")
        except Parsed:
            results.append("ok")
        except SystemExit as e:
            results.append(f"exit status {e.code}")
    print(json.dumps(results))
""")


def check_cli_arguments(argvs: list[list[str]], where: str, env: dict[str, str]) -> None:
    """Each ``fastpitch-tpu`` argument list passes the CLI's parser (nothing runs)."""
    if not argvs:
        return
    proc = subprocess.run([sys.executable, "-c", PARSE_ONLY, json.dumps(argvs)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, f"{where}: argument check failed:\n{proc.stderr[-3000:]}"
    results = json.loads(proc.stdout.strip().split("\n")[-1])
    bad = [f"fastpitch-tpu {shlex.join(argv)}: {result}"
           for argv, result in zip(argvs, results) if result != "ok"]
    assert not bad, f"{where}: arguments the CLI does not accept:\n" + "\n".join(bad) + (
        f"\n{proc.stderr[-3000:]}")


def check_static_command(cmd: list[str], where: str, cli_argvs: list[list[str]],
                         installed_first: set[str]) -> None:
    """A command of a no-run block: what can be checked without running it."""
    name, args = cmd[0], cmd[1:]
    if name == "fastpitch-tpu":
        cli_argvs.append(args)
    elif name in ("pip", "pip3") or (name.startswith("python") and args[:2] == ["-m", "pip"]):
        check_pip(args[2:] if name.startswith("python") else args, where, installed_first)
    elif name == "bash" and args and args[0] == ".ci/run":
        check_ci_run(args[1:], where)
    elif name == "bash" and args and args[0] == "benches/gpu_bench.sh":
        assert (REPO / args[0]).is_file(), f"{where}: {args[0]} does not exist"
        if len(args) > 1 and args[1].endswith(".py"):
            check_script_flags(REPO / args[1], args[2:], where)
        else:
            cli_argvs.append(["bench", *args[1:]])
    elif name.startswith("python") and args and args[0].endswith(".py"):
        if not args[0].startswith(".."):  # ../shared/goldens lives beside the checkout
            check_script_flags(REPO / args[0], args[1:], where)
    elif name.startswith("python") and args[:2] == ["-m", "fastpitch_tpu"]:
        cli_argvs.append(args[2:])
    elif name == "cargo":
        for flag, pattern in (("-p", "rust/{}/Cargo.toml"), ("--example", "rust/*/examples/{}.rs"),
                              ("--test", "rust/*/tests/{}.rs")):
            if flag in args and args.index(flag) + 1 < len(args):
                value = args[args.index(flag) + 1]
                assert list(REPO.glob(pattern.format(value))), (
                    f"{where}: cargo {flag} {value}: not found ({pattern.format(value)})")


def check_python_statically(block: Block, env: dict[str, str]) -> None:
    tree = ast.parse(block.code, filename=block.name)
    imports: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("fastpitch_tpu"):
            imports.append(ast.unparse(node))
        elif isinstance(node, ast.Import) and any(
                a.name.startswith("fastpitch_tpu") for a in node.names):
            imports.append(ast.unparse(node))
    if not imports:
        return
    # A module of ours that needs an extra not installed here cannot be checked: say so only if
    # the missing module is one of ours.
    probe = textwrap.dedent("""
        import sys
        try:
            exec(sys.argv[1])
        except ModuleNotFoundError as e:
            if (e.name or "").startswith("fastpitch_tpu"):
                raise
            print("unverifiable:", e.name)
    """)
    proc = subprocess.run([sys.executable, "-c", probe, "\n".join(imports)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, (f"{block.name}: the imports do not resolve:\n"
                                  + "\n".join(imports) + f"\n{proc.stderr[-3000:]}")


# -------------------------------------------------------------------------------------------
# Running blocks

SHELL_PRELUDE = textwrap.dedent("""
    set -eo pipefail
    _record() { printf '%s\\x1f' "$@" >> "$README_RECORD"; printf '\\x1e' >> "$README_RECORD"; }
    pip() { _record pip "$@"; }
    pip3() { _record pip "$@"; }
    python() {
        if [ "${1:-}" = "-m" ] && [ "${2:-}" = "pip" ]; then shift 2; _record pip "$@";
        else command python "$@"; fi
    }
    bash() {
        if [ "${1:-}" = ".ci/run" ]; then _record "$@"; else command bash "$@"; fi
    }
""")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The installed package's scripts first on PATH; caches in a folder the blocks share."""
    cache = tmp_path_factory.mktemp("readme-cache")
    environ = dict(os.environ)
    environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{environ.get('PATH', '')}"
    environ["FASTPITCH_TPU_COMPILE_CACHE"] = str(cache / "compiled")
    environ["FASTPITCH_TPU_CACHE"] = str(cache / "downloads")
    environ["PYTHONUNBUFFERED"] = "1"
    return environ


def written_by_python(code: str) -> list[str]:
    tree = ast.parse(code)
    in_fstrings = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)
                   for v in node.values}
    return sorted({node.value for node in ast.walk(tree)
                   if isinstance(node, ast.Constant) and isinstance(node.value, str)
                   and id(node) not in in_fstrings and WRITTEN.match(node.value)})


def written_by_shell(line: str) -> list[str]:
    out: list[str] = []
    for cmd in commands(line):
        if cmd[0] != "fastpitch-tpu":
            continue
        for flag in ("-o", "--output"):
            if flag in cmd and cmd.index(flag) + 1 < len(cmd):
                out.append(cmd[cmd.index(flag) + 1])
        if len(cmd) > 2 and cmd[1] == "corpus":
            positional = [a for a in cmd[2:] if not a.startswith("-")]
            if len(positional) >= 2:
                out.append(str(Path(positional[1]) / "manifest.jsonl"))
    return out


def _tail(text: str, n: int = 4000) -> str:
    return text if len(text) <= n else "…" + text[-n:]


def run_python(block: Block, folder: Path, env: dict[str, str]) -> None:
    script = folder / "snippet.py"
    script.write_text(block.code + "\n", encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=TIMEOUT_S,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, (f"{block.name}: exit status {proc.returncode}\n"
                                  f"--- stdout\n{_tail(proc.stdout)}\n--- stderr\n"
                                  f"{_tail(proc.stderr)}")
    for name in written_by_python(block.code):
        assert (folder / name).is_file(), f"{block.name}: {name} was not written"


def run_shell(block: Block, folder: Path, env: dict[str, str]) -> None:
    for name in LINKED:
        (folder / name).symlink_to(REPO / name, target_is_directory=True)
    record = folder.parent / f"{folder.name}.record"
    env = {**env, "README_RECORD": str(record)}
    installed_first: set[str] = set()
    for line in logical_lines(block.code):
        record.write_bytes(b"")
        proc = subprocess.run(["bash", "-c", SHELL_PRELUDE + line], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
        assert proc.returncode == 0, (f"{block.name}: `{line}` exit status {proc.returncode}\n"
                                      f"--- stdout\n{_tail(proc.stdout)}\n--- stderr\n"
                                      f"{_tail(proc.stderr)}")
        for entry in record.read_text(encoding="utf-8").split("\x1e"):
            if not entry:
                continue
            argv = entry.split("\x1f")[:-1]
            if argv[0] == "pip":
                check_pip(argv[1:], f"{block.name}: `{line}`", installed_first)
            else:
                check_ci_run(argv[1:], f"{block.name}: `{line}`")
        for name in written_by_shell(line):
            path = folder / name
            if name.endswith(("/", os.sep)) or path.is_dir():
                assert path.is_dir() and any(path.glob("*.wav")), (
                    f"{block.name}: `{line}` wrote no WAV into {name}")
            else:
                assert path.is_file(), f"{block.name}: `{line}` did not write {name}"


# -------------------------------------------------------------------------------------------
# Tests


def test_every_block_is_labelled() -> None:
    """A fence without an info string (or with one this test does not run, such as
    ``console``) could hide a command that is never run."""
    unlabelled = [block.name for block in ALL_BLOCKS if not block.lang]
    assert not unlabelled, f"code fences without a language (use ```text for text): {unlabelled}"
    unknown = [f"{block.name} ({block.lang})" for block in ALL_BLOCKS
               if block.kind == "other" and block.lang not in NOT_CODE]
    assert not unknown, (f"code fences in a language this test neither runs nor knows as "
                         f"text: {unknown} (run: {PYTHON + SHELL}; text: {NOT_CODE})")
    reasonless = [block.name for block in ALL_BLOCKS if block.no_run == ""]
    assert not reasonless, f"no-run markers without a reason: {reasonless}"


def test_no_run_blocks_are_few_and_listed() -> None:
    no_run = [block for block in CODE_BLOCKS if block.no_run is not None]
    in_readme = [block for block in no_run if block.path.name == "README.md"
                 and block.path.parent == REPO]
    assert len(in_readme) <= README_NO_RUN_LIMIT, (
        f"the README holds {len(in_readme)} blocks that are not run (at most "
        f"{README_NO_RUN_LIMIT}): {[block.name for block in in_readme]}")
    ran = len(CODE_BLOCKS) - len(no_run)
    assert ran > 0
    if no_run:
        listing = "; ".join(f"{block.name} ({block.no_run})" for block in no_run)
        warnings.warn(ReadmeNoRunBlocks(
            f"{ran} documentation code blocks run, {len(no_run)} checked but not run: "
            f"{listing}"), stacklevel=1)


def test_readme_is_an_entry_page() -> None:
    lines = (REPO / "README.md").read_text(encoding="utf-8").split("\n")
    assert len(lines) <= 250, f"README.md has {len(lines)} lines (at most 250)"
    head = "\n".join(lines[:60])
    for needed in ("## Install", "## Quick start", "bash .ci/run --quick",
                   'pip install ".[models]" && fastpitch-tpu', "```python"):
        assert needed in head, f"README.md: {needed!r} is not within the first 60 lines"
    first_python = next(b for b in ALL_BLOCKS
                        if b.path == REPO / "README.md" and b.kind == "python")
    end = first_python.line + first_python.code.count("\n") + 1
    assert end <= 60, f"the README's first example ends on line {end} (by line 60)"
    assert first_python.code.count("\n") + 1 <= 20, "the README's first example is over 20 lines"


def _anchors(path: Path) -> set[str]:
    anchors = set()
    for line in path.read_text(encoding="utf-8").split("\n"):
        m = re.match(r"^#{1,6}\s+(.*)$", line)
        if m:
            title = m[1].strip().lower().replace("`", "")
            anchors.add(re.sub(r"\s", "-", re.sub(r"[^\w\s-]", "", title)))
    return anchors


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(REPO)))
def test_relative_links_resolve(path: Path) -> None:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    broken = []
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if re.match(r"^[a-z]+:", target):
            continue
        file, _, anchor = target.partition("#")
        dest = (path.parent / file).resolve() if file else path
        if not dest.exists():
            broken.append(target)
        elif anchor and dest.suffix == ".md" and anchor not in _anchors(dest):
            broken.append(target)
    assert not broken, f"{path.relative_to(REPO)}: broken links {broken}"


@pytest.mark.parametrize("block", CODE_BLOCKS,
                         ids=lambda b: f"{b.name}-{b.kind}{'-no-run' if b.no_run else ''}")
def test_block(block: Block, tmp_path: Path, env: dict[str, str]) -> None:
    if block.no_run is not None:
        if block.kind == "python":
            check_python_statically(block, env)
        else:
            cli_argvs: list[list[str]] = []
            installed_first: set[str] = set()
            for line in logical_lines(block.code):
                for cmd in commands(line):
                    check_static_command(cmd, f"{block.name}: `{line}`", cli_argvs,
                                         installed_first)
            check_cli_arguments(cli_argvs, block.name, env)
        return
    folder = tmp_path / "work"
    folder.mkdir()
    if block.kind == "python":
        run_python(block, folder, env)
    else:
        run_shell(block, folder, env)

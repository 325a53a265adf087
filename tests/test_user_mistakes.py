"""A new user's mistakes: each is one clear line and a non-zero exit, never a traceback, and
`--overwrite` never deletes what gristmill did not write (issue 20).

The table runs the real CLI in-process (`gristmill.launcher.main`); Ctrl-C and import-time
checks need a real process and run as subprocesses.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from gristmill.launcher import main
from tests.support.curation import REPO, write_jsonl, write_pipeline
from tests.support.training import tiny_run

GRISTMILL = [sys.executable, "-m", "gristmill.launcher"]


def run_cli(argv: list[str], capfd: pytest.CaptureFixture) -> tuple[int, str, str]:
    """Exit status, stdout and stderr of one in-process command (argparse exits too)."""
    try:
        status = main([str(a) for a in argv])
    except SystemExit as stop:
        status = stop.code if isinstance(stop.code, int) else 1
    out, err = capfd.readouterr()
    return status, out, err


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A trained tiny run (checkpoints at steps 4 and 8), a JSONL input whose text is in
    `content`, a pipeline, a file and a folder that are not gristmill's."""
    root = tmp_path_factory.mktemp("mistakes")
    config = tiny_run(root)
    assert main(["train", str(config), "--quiet"]) == 0
    records = [{"id": str(i), "content": f"words of record {i} " * 5} for i in range(12)]
    write_jsonl(root / "content.jsonl", records)
    write_jsonl(root / "good.jsonl", [{"text": f"text {i} " * 5} for i in range(12)])
    pipeline = write_pipeline(root / "p.yaml", [str(root / "good.jsonl")], root / "out")
    (root / "notes.txt").write_text("mine\n")
    (root / "folder").mkdir()
    return {"root": root, "config": config, "run": root / "run", "pipeline": pipeline,
            "corpus": root / "corpus", "file": root / "notes.txt", "folder": root / "folder",
            "tokenizer": root / "chars.json"}


# (case, argv built from the world, exit status, a phrase stderr must hold)
Case = tuple[str, Callable[[dict[str, Path]], list], int, str]
CASES: list[Case] = [
    ("curate output is a file",
     lambda w: ["curate", w["pipeline"], "--output", w["file"], "--quiet"], 2,
     "is a file, not a directory"),
    ("every record's text is in content",
     lambda w: ["curate", w["pipeline"], "--input", w["root"] / "content.jsonl", "--output",
                w["root"] / "out-content", "--quiet"], 2, "input.text_field=content"),
    ("input.id_field names a field the records lack",
     lambda w: ["curate", w["pipeline"], "--input", w["root"] / "good.jsonl", "--output",
                w["root"] / "out-ids", "--quiet", "input.id_field=doc_id"], 2,
     "or run again without input.id_field"),
    ("stats --json is a folder",
     lambda w: ["stats", w["corpus"], "--json", w["folder"], "--quiet"], 2, "is a directory"),
    ("stats --json is the user's file",
     lambda w: ["stats", w["corpus"], "--json", w["file"], "--quiet"], 2,
     "not a file gristmill wrote"),
    ("stats --tokenizer is not a tokenizer",
     lambda w: ["stats", w["corpus"], "--tokenizer", w["pipeline"], "--quiet"], 2,
     "not a tokenizer.json"),
    ("tokenizer train --out is a folder",
     lambda w: ["tokenizer", "train", "--data", w["corpus"], "--vocab-size", 300, "--out",
                w["folder"], "--overwrite"], 2, "is a directory; give a file path"),
    ("tokenizer train --overwrite on the user's file",
     lambda w: ["tokenizer", "train", "--data", w["corpus"], "--vocab-size", 300, "--out",
                w["file"], "--overwrite"], 2, "not a file gristmill wrote"),
    ("sample --top-k -5", lambda w: ["sample", w["run"], "--top-k", "-5"], 2,
     "--top-k: expected a whole number >= 0"),
    ("sample --temperature -1", lambda w: ["sample", w["run"], "--temperature", "-1"], 2,
     "--temperature: expected a number >= 0"),
    ("sample --top-p 1.5", lambda w: ["sample", w["run"], "--top-p", "1.5"], 2,
     "--top-p: expected a number in (0, 1]"),
    ("sample --max-new-tokens -3", lambda w: ["sample", w["run"], "--max-new-tokens", "-3"],
     2, "--max-new-tokens: expected a whole number >= 1"),
    ("sample --device tpu", lambda w: ["sample", w["run"], "--device", "tpu"], 2,
     "unknown device 'tpu'"),
    ("train run.device=tpu", lambda w: ["train", w["config"], "run.device=tpu", "--resume"],
     2, "run.device=tpu: unknown device"),
    ("train --resume past run.max_steps",
     lambda w: ["train", w["config"], "--resume", "run.max_steps=3"], 2,
     "is at step 8, past run.max_steps=3"),
    ("train run.out_dir is a file",
     lambda w: ["train", w["config"], f"run.out_dir={w['file']}"], 2,
     "is a file, not a directory"),
    ("train model.n_head=3", lambda w: ["train", w["config"], "model.n_head=3"], 2,
     "must be a multiple of model.n_head (3)"),
    ("export --out is a file", lambda w: ["export", w["run"], "--out", w["file"]], 2,
     "is a file, not a directory"),
]


@pytest.mark.parametrize(("argv", "status", "phrase"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_mistake_is_one_clear_line(world: dict[str, Path], capfd: pytest.CaptureFixture,
                                   argv: Callable, status: int, phrase: str) -> None:
    before = sorted(p.name for p in world["root"].iterdir())
    code, _, err = run_cli(argv(world), capfd)
    assert code == status, err
    assert phrase in err
    assert "Traceback" not in err and len(err.strip().splitlines()) <= 2, err
    assert "{" not in err  # no config dict, no Python repr of a structure
    assert world["file"].read_text() == "mine\n"
    leftovers = [p for p in world["root"].rglob(".tmp-*")]
    assert not leftovers
    after = sorted(p.name for p in world["root"].iterdir())
    assert set(before) <= set(after)


def test_sample_cuda_on_cpu_names_the_flag(world: dict[str, Path],
                                           capfd: pytest.CaptureFixture) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    code, _, err = run_cli(["sample", world["run"], "--device", "cuda"], capfd)
    assert code == 2 and "--device=cpu" in err and "run.device" not in err


def test_resume_without_checkpoint_says_so(world: dict[str, Path], tmp_path: Path,
                                           capfd: pytest.CaptureFixture) -> None:
    code, _, err = run_cli(["train", world["config"], "--resume", "--quiet",
                              f"run.out_dir={tmp_path / 'fresh'}", "run.max_steps=1"], capfd)
    assert code == 0, err
    assert "no checkpoint in" in err and "starts from step 0" in err
    assert (tmp_path / "fresh" / "checkpoints" / "step-00000001").is_dir()


def test_short_run_inside_warmup_gets_a_note(world: dict[str, Path], tmp_path: Path,
                                             capfd: pytest.CaptureFixture) -> None:
    code, out, err = run_cli(["train", world["config"], f"run.out_dir={tmp_path / 'r'}",
                              "run.max_steps=2", "schedule.warmup_steps=5"], capfd)
    assert code == 0, err
    assert "schedule.warmup_steps=5 is not below run.max_steps=2" in out
    assert (tmp_path / "r" / "checkpoints" / "step-00000002").is_dir()  # saved at the end


def test_corrupt_checkpoint_names_the_earlier_ones(world: dict[str, Path], tmp_path: Path,
                                                   capfd: pytest.CaptureFixture) -> None:
    run = tmp_path / "run"
    shutil.copytree(world["run"], run)
    newest = run / "checkpoints" / "step-00000008"
    (newest / "model.safetensors").write_bytes(b"garbage")
    code, _, err = run_cli(["sample", run, "--max-new-tokens", "2"], capfd)
    assert code == 2 and "Traceback" not in err
    assert "earlier checkpoints: step-00000004" in err and f"mv {newest} " in err
    # the two ways the message offers both work
    assert run_cli(["sample", run / "checkpoints" / "step-00000004", "--max-new-tokens", "2",
                    "--seed", "1"], capfd)[0] == 0
    newest.rename(run / "checkpoints" / "corrupt-step-00000008")
    assert run_cli(["sample", run, "--max-new-tokens", "2", "--seed", "1"], capfd)[0] == 0


def test_stale_token_cache_names_every_required_flag(world: dict[str, Path], tmp_path: Path,
                                                     capfd: pytest.CaptureFixture) -> None:
    from tests.support.training import bpe_tokenizer

    cache = tmp_path / "cache"
    assert run_cli(["tokenizer", "encode", "--data", world["corpus"], "--tokenizer",
                    world["tokenizer"], "--out", cache], capfd)[0] == 0
    other = tmp_path / "bpe.json"
    bpe_tokenizer(300).save(str(other))
    source = json.dumps([{"path": str(world["corpus"]), "cache": str(cache)}])
    code, _, err = run_cli(["train", world["config"], f"data.sources={source}",
                            f"data.tokenizer={other}", f"run.out_dir={tmp_path / 'r'}"], capfd)
    assert code == 2, err
    command = err.split("`")[1]
    assert f"--data {world['corpus']}" in command and "--tokenizer" in command
    assert f"--out {cache}" in command


def test_curate_overwrite_keeps_what_gristmill_did_not_write(
        world: dict[str, Path], tmp_path: Path, capfd: pytest.CaptureFixture) -> None:
    out = tmp_path / "demo"
    curate = ["curate", world["pipeline"], "--output", out, "--quiet"]
    assert run_cli(curate, capfd)[0] == 0
    (out / "tokenizer.json").write_text("{}")
    (out / "model" / "checkpoints").mkdir(parents=True)
    (out / "notes.txt").write_text("mine\n")
    code, _, err = run_cli([*curate, "--overwrite"], capfd)
    assert code == 0, err
    assert "keeping what gristmill curate did not write: model/, notes.txt, tokenizer.json" \
        in err
    assert (out / "notes.txt").read_text() == "mine\n" and (out / "model/checkpoints").is_dir()
    assert (out / "_manifest.json").is_file() and (out / "part-00000.parquet").is_file()
    # a file of the user's inside a folder the run owns: refuse, and remove nothing
    shutil.rmtree(out)
    split = write_pipeline(tmp_path / "split.yaml", [str(world["root"] / "good.jsonl")], out,
                           steps=[{"split": {"validation_fraction": 0.2}}])
    assert run_cli(["curate", split, "--quiet"], capfd)[0] == 0
    (out / "train" / "extra.parquet").write_bytes(b"mine")
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    code, _, err = run_cli(["curate", split, "--quiet", "--overwrite"], capfd)
    assert code == 2 and "train/extra.parquet was not" in err, err
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


def test_replacing_single_file_outputs(world: dict[str, Path], tmp_path: Path,
                                       capfd: pytest.CaptureFixture) -> None:
    """stats --json/--html replace only their own files; tokenizer --overwrite only a
    tokenizer; export --overwrite only an earlier export."""
    stats = ["stats", world["corpus"], "--json", tmp_path / "s.json", "--html",
             tmp_path / "s.html", "--quiet"]
    assert run_cli(stats, capfd)[0] == 0
    assert run_cli(stats, capfd)[0] == 0  # its own files: replaced
    tok = ["tokenizer", "train", "--data", world["corpus"], "--kind", "char", "--out",
           tmp_path / "tok.json"]
    assert run_cli(tok, capfd)[0] == 0
    code, _, err = run_cli(tok, capfd)
    assert code == 2 and "pass --overwrite" in err
    assert run_cli([*tok, "--overwrite"], capfd)[0] == 0
    pytest.importorskip("transformers")
    hf = tmp_path / "hf"
    assert run_cli(["export", world["run"], "--out", hf], capfd)[0] == 0
    code, _, err = run_cli(["export", world["run"], "--out", hf], capfd)
    assert code == 2 and "--overwrite" in err
    assert run_cli(["export", world["run"], "--out", hf, "--overwrite"], capfd)[0] == 0
    (hf / "notes.txt").write_text("mine\n")
    code, _, err = run_cli(["export", world["run"], "--out", hf, "--overwrite"], capfd)
    assert code == 2 and "notes.txt" in err and (hf / "notes.txt").is_file()
    assert (hf / "config.json").is_file()


def test_steps_never_cuts_a_parameter_name(capfd: pytest.CaptureFixture) -> None:
    from curation.cli.step_reference import parameters
    from curation.core.registry import all_steps

    code, out, _ = run_cli(["steps"], capfd)
    assert code == 0
    cells = {cell.strip() for line in out.splitlines() for cell in line.split("│")}
    names = {p.name for cls in all_steps().values() for p in parameters(cls)}
    assert names <= cells, sorted(names - cells)


def test_summary_never_cuts_a_reason(capfd: pytest.CaptureFixture) -> None:
    from rich.console import Console

    from curation.cli.summary import print_summary

    reasons = {"dup_line_char_fraction": 7, "top_4_gram_char_fraction": 5,
               "duplicate_paragraph_char_fraction": 3}
    step = {"name": "gopher_repetition", "docs_in": 20, "docs_out": 5, "rejected": reasons,
            "flagged": {}, "bytes_out": 0, "seconds": 0.1}
    manifest = {"pipeline": {"name": "p"}, "steps": [step],
                "counts": {"input": 20, "kept": 5, "rejected": 15, "kept_by_split": {},
                           "bytes_in": 1, "bytes_kept": 1},
                "inputs": {"skipped_files": []}}
    print_summary(manifest, "out", 1.0, Console(width=80))
    out = capfd.readouterr().out
    assert all(reason in out for reason in reasons), out


def test_tokenizer_train_prints_no_blank_lines(world: dict[str, Path], tmp_path: Path,
                                               capfd: pytest.CaptureFixture) -> None:
    code, out, err = run_cli(["tokenizer", "train", "--data", world["corpus"],
                              "--vocab-size", 300, "--out", tmp_path / "t.json"], capfd)
    assert code == 0, err
    assert "" not in out.splitlines() and not err.strip()


def test_version_and_steps_do_not_import_torch() -> None:
    probe = ("import sys; from gristmill.launcher import main; main(sys.argv[1:]); "
             "print('torch' in sys.modules)")
    for argv in (["--version"], ["steps", "length"]):
        done = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True,
                              text=True, cwd=REPO, check=True)
        assert done.stdout.strip().splitlines()[-1] == "False", argv


def _interrupt(argv: list[str], ready: Callable[[], bool], cwd: Path = REPO,
               delay: float = 0.3) -> tuple[int, str]:
    """Start a command in its own process group; Ctrl-C the whole group (as a terminal
    does) `delay` s after `ready()` holds; exit status and stderr."""
    proc = subprocess.Popen([*GRISTMILL, *argv], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, start_new_session=True, text=True)
    deadline = time.monotonic() + 120
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(delay)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err


@pytest.mark.slow
def test_ctrl_c_is_one_line_and_workers_die_quietly(world: dict[str, Path],
                                                    tmp_path: Path) -> None:
    out = tmp_path / "cc"
    curate = ["curate", "pipelines/web.yaml", "--input", "data/sample/*.jsonl.gz", "--output",
              str(out), "--workers", "2", "--quiet"]
    # While it imports (the Python interpreter's own start-up, before gristmill runs, is
    # the one moment a Ctrl-C still shows Python's traceback)
    status, err = _interrupt(curate, lambda: True, delay=0.6)
    assert status == 130 and err in ("interrupted\n", "interrupted: run the same command "
                                                      "again to resume\n"), err
    status, err = _interrupt(curate, (out / "_work" / "run.json").exists)  # workers busy
    assert status == 130 and err == "interrupted: run the same command again to resume\n"
    run = tmp_path / "r"
    train = ["train", str(world["config"]), f"run.out_dir={run}", "run.max_steps=100000",
             "--quiet"]
    status, err = _interrupt(train, (run / "metrics.jsonl").exists)
    assert status == 130
    assert err.strip().endswith(f"train {world['config']} run.out_dir={run} "
                                "run.max_steps=100000 --quiet --resume"), err
    assert len(err.splitlines()) == 1


def _launch(run: str, tmp_path: Path) -> subprocess.CompletedProcess:
    """`python -m` (as the Ctrl-C test runs it) of `gristmill steps` with its work replaced
    by `run`, the body of `_run(args)`: how the process ends when that work is interrupted."""
    (tmp_path / "launch_probe.py").write_text(
        "import os, signal, sys, time\nfrom gristmill import launcher\n"
        f"def _run(args):\n    {run}\n"
        "launcher._run = _run\nsys.exit(launcher.main(['steps']))\n")
    return subprocess.run([sys.executable, "-m", "launch_probe"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=60)


def test_ctrl_c_inside_an_exec_still_exits_130(tmp_path: Path) -> None:
    # scipy and numpy exec() strings at import; Ctrl-C there made CPython end `python -m`
    # with SIGINT (status -2) after our one line, instead of exit 130
    done = _launch("exec('raise KeyboardInterrupt')", tmp_path)
    assert (done.returncode, done.stderr) == (130, "interrupted\n")


def test_ctrl_c_inside_a_finalizer_is_not_lost(tmp_path: Path) -> None:
    # Python prints and drops an exception raised in __del__: the run went on to exit 0
    done = _launch("class Finalized:\n"
                   "        def __del__(self):\n"
                   "            os.kill(os.getpid(), signal.SIGINT)\n"
                   "            sum(range(1000))\n"
                   "    Finalized()\n"
                   "    time.sleep(30)\n"
                   "    return 0", tmp_path)
    assert (done.returncode, done.stderr) == (130, "interrupted\n")

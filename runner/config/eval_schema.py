"""Typed schemas of evaluation: what a run is scored on (eval=...) and the lm-eval suites it names.

run: mixft config show eval=smoke    |    mixft config ls suite
"""

from __future__ import annotations

from dataclasses import dataclass, field

from omegaconf import MISSING

# generation engines of evaluation: auto is vllm where vLLM and CUDA are present, else hf
ENGINES = ("auto", "hf", "vllm")


@dataclass
class SuiteConfig:
    """A set of lm-evaluation-harness tasks scored on every trained model and on the base model."""

    name: str = MISSING
    description: str = ""
    # lm-eval task or group names
    tasks: list[str] = field(default_factory=list)
    # a folder of lm-eval task YAMLs, relative to the suite file or absolute; null: lm-eval's own tasks
    include_path: str | None = None
    # examples in the prompt; null: each task's own default
    num_fewshot: int | None = None
    # documents scored per task; null: all
    limit: int | None = None
    # render prompts with the model's chat template (instruction-tuned models)
    apply_chat_template: bool = False
    # dataset revision per lm-eval task, so that a suite scores the same documents next year
    revisions: dict[str, str] = field(default_factory=dict)
    # requests per forward pass
    batch_size: int = 8
    # generation budget of generative tasks, in tokens; null: each task's own
    max_gen_toks: int | None = None


@dataclass
class EvalConfig:
    name: str = MISSING
    # tasks scored for every run besides its own targets (held out, e.g. fiqa_sa)
    tasks: list[str] = field(default_factory=list)
    # lm-eval suites (conf/suite/<name>.yaml) scored besides the tasks
    suites: list[str] = field(default_factory=list)
    # also score every trained task that has a metric
    include_targets: bool = True
    # rows scored per task; null scores the whole eval split
    max_examples: int | None = None
    batch_size: int = 16
    # generation budget in tokens; null uses each task's own max_new_tokens
    max_new_tokens: int | None = None
    # relative tolerance of a numeric match (0.01 = 1%)
    numeric_rel_tol: float = 0.01
    # generation engine of task evaluations: hf (batched transformers generate), vllm, or auto
    # (vllm where it is installed and CUDA is present, else hf); greedy decoding either way
    engine: str = "auto"

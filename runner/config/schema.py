"""Typed schemas for every config group; Hydra composes conf/ YAML against them.

Run `mixft config show` to see them filled in. Each group has one shape: a YAML option only sets
values, and a key that is not declared here is rejected at composition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from mixft.runner.config.eval_schema import EvalConfig, SuiteConfig


@dataclass
class LocalModelConfig:
    """Architecture of a model that mixft builds itself (no download), e.g. for smoke runs."""

    # architecture family; only "llama" is built today
    architecture: str = "llama"
    hidden_size: int = 64
    intermediate_size: int = 128
    num_hidden_layers: int = 2
    num_attention_heads: int = 4
    num_key_value_heads: int = 2
    # byte-level BPE vocabulary trained on the offline sample suite
    vocab_size: int = 1024
    max_position_embeddings: int = 1024


@dataclass
class ModelShape:
    """Sizes the memory estimate reads (plan/memory.py); null: derived from the parameter count."""

    hidden_size: int | None = None
    num_hidden_layers: int | None = None
    intermediate_size: int | None = None
    vocab_size: int | None = None
    # attention heads, and key/value heads (grouped-query attention: fewer); null: no GQA
    num_attention_heads: int | None = None
    num_key_value_heads: int | None = None


@dataclass
class ModelConfig:
    name: str = MISSING
    # Hugging Face model id; null when `build` describes a locally built model
    hf_id: str | None = None
    # git revision (branch, tag or commit) of hf_id; pin a commit for reproducible sweeps
    revision: str = "main"
    # torch dtype for the weights: auto | bfloat16 | float16 | float32
    dtype: str = "auto"
    # attention kernel: sdpa | eager | flash_attention_2
    attn_implementation: str = "sdpa"
    # run code shipped with the checkpoint; off unless a model config turns it on explicitly
    trust_remote_code: bool = False
    # Jinja chat template replacing the tokenizer's own; null keeps the model's template
    chat_template: str | None = None
    # parameter count, for cost estimates (6 x params x tokens FLOPs for full fine-tuning)
    num_parameters: int = MISSING
    # longest sequence the model was trained for, in tokens
    context_length: int = 4096
    # when set, mixft builds this architecture locally instead of loading hf_id
    build: LocalModelConfig | None = None
    # layer sizes, for memory estimates only (config.json's, for hf: and path: models)
    shape: ModelShape = field(default_factory=ModelShape)


@dataclass
class SourceConfig:
    """Where a task's rows come from: the hub, or a local jsonl/csv/parquet file."""

    hf_id: str | None = None
    # dataset config (subset) name on the hub
    hf_config: str | None = None
    # git revision of the dataset repository; pin a commit for reproducible sweeps
    revision: str | None = None
    # local file used instead of the hub (jsonl, csv or parquet)
    path: str | None = None
    train_split: str | None = "train"
    # split scored at evaluation; null when the source has none (regulariser data)
    eval_split: str | None = "test"


@dataclass
class ColumnsConfig:
    """Source columns that hold a row's instruction, input and expected output."""

    # null: the task's own `prompt` is the instruction
    instruction: str | None = None
    input: str = "input"
    output: str = "output"
    # keep only the text after this marker in the input column (finqa: "Context: ")
    input_after: str | None = None


@dataclass
class TypicalSizes:
    """Rough sizes of a task for `mixft plan`'s cost estimate, until a run measures them (not in run ids)."""

    # tokens of one chat-formatted row (prompt and answer) with a 7B-class tokenizer
    tokens_per_row: int = 400
    # rows of its eval split
    eval_rows: int = 1000


@dataclass
class TaskConfig:
    name: str = MISSING
    # classification | numeric_qa | generation
    kind: str = MISSING
    description: str = ""
    source: SourceConfig = field(default_factory=SourceConfig)
    columns: ColumnsConfig = field(default_factory=ColumnsConfig)
    # instruction written by mixft, used when the source has no instruction column
    prompt: str = ""
    # label space: the exact texts the model must answer with (empty for free text)
    labels: list[str] = field(default_factory=list)
    # raw source value -> label text (fpb: "0" -> negative); empty when the source holds the text
    label_map: dict[str, str] = field(default_factory=dict)
    # accuracy_f1 | numeric_accuracy | none (no score: regulariser data)
    metric: str = "none"
    # training cap: rows kept after the seeded shuffle; null keeps every row
    max_examples: int | None = None
    # or: rows as a multiple of the task pool (regulariser sources); excludes max_examples
    pool_ratio: float | None = None
    # false for evaluation-only tasks (fiqa_sa is held out, never trained on)
    trainable: bool = True
    # generation budget at evaluation, in tokens
    max_new_tokens: int = 8
    typical: TypicalSizes = field(default_factory=TypicalSizes)


@dataclass
class BudgetConfig:
    """Total size of a mixture, so arms can be compared at equal cost."""

    # examples | tokens
    unit: str = "examples"
    # null: no budget, the capped sources are used whole
    total: int | None = None


@dataclass
class MixtureConfig:
    name: str = "custom"
    # tasks trained together; their order does not matter (the run id sorts them)
    tasks: list[str] = field(default_factory=list)
    # per-task training cap replacing the task's own max_examples
    caps: dict[str, int] = field(default_factory=dict)
    # per-task fraction of the final mix; empty = the study's concatenation of capped sources
    shares: dict[str, float] = field(default_factory=dict)
    # most times a source may be repeated to reach its share (1.0 = no upsampling)
    max_repeat: float = 1.0
    budget: BudgetConfig = field(default_factory=BudgetConfig)
    # tasks whose capped rows form the pool that regulariser sizes are ratios of;
    # empty = the run's own tasks (the study fixes it to all seven financial tasks)
    pool: list[str] = field(default_factory=list)
    # shuffle seed of the mix; null follows the run's seed
    seed: int | None = None


@dataclass
class RegularizerConfig:
    name: str = "none"
    # regulariser source task -> rows as a multiple of the task pool (study: general 1.0, math 0.5)
    sources: dict[str, float] = field(default_factory=dict)
    # training-time knobs TRL already has; null keeps the training recipe's value
    neftune_noise_alpha: float | None = None
    weight_decay: float | None = None
    lora_dropout: float | None = None


@dataclass
class DataConfig:
    """Where every task's rows come from, for the whole run."""

    # true: the offline sample suite (no network) instead of each hub source; tasks on local files
    # keep reading them
    samples: bool = False
    # rows the sample suite makes per task and split
    sample_train_rows: int = 256
    sample_eval_rows: int = 128
    # rows read from each split, its first ones (a rehearsal: `mixft sweep --rehearse`); null: all
    max_rows: int | None = None


@dataclass
class EpochRule:
    """Epochs for mixtures of at most `max_sources` sources (null: any number)."""

    max_sources: int | None = None
    num_train_epochs: float = 1.0
    warmup_steps: int = 0


@dataclass
class LoraConfig:
    r: int = 8
    alpha: int = 16
    dropout: float = 0.05
    # module names to adapt; "all-linear" lets PEFT pick every linear layer
    target_modules: list[str] = field(default_factory=lambda: ["all-linear"])


@dataclass
class TrainingConfig:
    name: str = MISSING
    # full | lora | qlora
    method: str = "full"
    learning_rate: float = 2e-5
    lr_scheduler_type: str = "cosine"
    warmup_steps: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 1.0
    optim: str = "adamw_torch"
    per_device_train_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    num_train_epochs: float = 1.0
    # > 0 stops after this many optimizer steps, whatever the epochs
    max_steps: int = -1
    # first matching rule sets epochs and warm-up by the number of training sources
    epochs_by_sources: list[EpochRule] = field(default_factory=list)
    # longest training sequence, in tokens
    max_length: int = 2048
    packing: bool = False
    # auto | bf16 | fp16 | fp32 (auto: bf16 where the device supports it, else fp32)
    precision: str = "auto"
    gradient_checkpointing: bool = False
    # loss on the assistant answer only, never on the prompt
    assistant_only_loss: bool = True
    lora: LoraConfig = field(default_factory=LoraConfig)
    # name of a packaged DeepSpeed config used through accelerate (zero2_offload); null: none
    deepspeed: str | None = None
    # checkpoint every N optimizer steps (resume point); null: only at the end
    save_steps: int | None = 200
    # keep only the final model, not the intermediate checkpoints
    save_final_only: bool = False
    # weights kept once trained: final | adapter | none (null: the final model, the adapter for LoRA);
    # with none, a later evaluation of the run trains it again
    keep: str | None = None
    logging_steps: int = 10
    # further SFTConfig arguments passed through as they are
    sft_kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass
class Config:
    model: ModelConfig = MISSING
    # the task catalogue: name -> task; a resolved run keeps only the tasks it uses
    task: dict[str, TaskConfig] = field(default_factory=dict)
    # the suites of eval.suites: name -> suite (read from conf/suite/ at composition)
    suite: dict[str, SuiteConfig] = field(default_factory=dict)
    mixture: MixtureConfig = MISSING
    regularizer: RegularizerConfig = MISSING
    training: TrainingConfig = MISSING
    eval: EvalConfig = MISSING
    # a TrackerConfig subclass, picked by tracker.name at composition (config/trackers.py)
    tracker: Any = MISSING
    # an ExecutorConfig subclass, picked by executor.name at composition (config/executors.py)
    executor: Any = MISSING
    data: DataConfig = field(default_factory=DataConfig)
    # seed of training (and of the mix unless mixture.seed is set)
    seed: int = 42


# Config groups in the order config.yaml composes them.
GROUPS: tuple[str, ...] = (
    "model",
    "task",
    "mixture",
    "regularizer",
    "training",
    "eval",
    "tracker",
    "executor",
)

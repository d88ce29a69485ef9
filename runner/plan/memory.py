"""What one training run holds in GPU memory: weights, gradients, optimizer states, activations, logits.

run: mixft plan cocktail_paper --gpu H200    (each run's `mem GB`; `--runs-per-gpu` packs by it)

Per GPU process, in bytes (N parameters, T trainable ones, tokens = batch x sequence):
- weights: N x 2 in bf16/fp16, 4 in fp32; QLoRA: the decoder layers in 4-bit NF4 with double
  quantisation (0.52 bytes a parameter), embeddings and head in bf16.
- trainable state: full fine-tuning: T = N gradients at the weights' width and the optimizer's
  states (AdamW: two at the weights' width; 8-bit AdamW: 2 bytes; SGD, Adafactor: about none);
  LoRA/QLoRA: T = N x 5e-4 x rank adapter parameters in fp32 (weights, gradients, AdamW: 16 bytes).
  DeepSpeed ZeRO-2 with offload keeps the optimizer states on the CPU.
- activations: per token and layer, the tensors autograd keeps in a Llama-shaped layer at 2 bytes
  each: about 8 x hidden (norms, q/k/v, attention output, residuals) + 4 x intermediate (gate, up,
  SiLU, product); sdpa and flash attention keep no attention matrix. Gradient checkpointing keeps
  one hidden vector per layer and one layer's full set.
- logits: tokens x vocabulary x 12 bytes (bf16 logits, their fp32 copy for the loss, its gradient).
- the sequence: training.max_length with packing, else twice the longest typical row (a batch is
  padded to its longest row), at most max_length.
- a run that only evaluates: its weights and the KV cache of one generation batch (eval.batch_size
  x (twice the longest typical prompt + new tokens) x layers x hidden x 4 bytes: keys and values in
  bf16 without grouped-query attention, an upper bound).

The run's budget adds 10% for the caching allocator and 0.75 GiB for the CUDA context. When the
model's shape is unknown, hidden = (N x 128 / 12)^(1/3) and layers = hidden / 128 (Llama's ratio).
Measured peaks (train/peak_memory_gb in a run's metrics) check the formula: tests/gpu/test_tier.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from mixft.runner.config.run import eval_tasks, role_of, training_sources
from mixft.runner.config.schema import Config

GIB = 2**30
LORA_SHARE_PER_RANK = 5e-4  # adapter parameters per model parameter and unit of rank (4B, r=8: 0.4%)
QLORA_BYTES = 0.52  # NF4 (0.5) plus double-quantised block constants (~0.127 bits a parameter)
ALLOCATOR_SLACK, CUDA_CONTEXT = 1.10, 0.75 * GIB
USABLE = 0.97  # share of a GPU's memory runs may reserve together (the driver keeps some)
ACT_HIDDEN, ACT_INTERMEDIATE = 8, 4  # tensors of hidden and intermediate width kept per layer
LOGIT_BYTES = 12
KV_BYTES = 4  # per token, layer and unit of hidden size: keys and values in bf16 (GQA needs less)
# optimizer states per trainable parameter, in units of the parameter's width (8-bit: bytes / 2)
OPTIMIZER_STATES = {"sgd": 0.0, "adafactor": 0.0, "lion": 1.0}
ADAM_STATES = 2.0


@dataclass(frozen=True)
class Shape:
    hidden: int
    layers: int
    intermediate: int
    vocab: int


def model_shape(cfg: Config) -> Shape:
    """The layer sizes: a built model's, the config's `model.shape`, or derived from the count."""
    model = cfg.model
    if model.build is not None:
        b = model.build
        return Shape(b.hidden_size, b.num_hidden_layers, b.intermediate_size, b.vocab_size)
    s = model.shape
    hidden = s.hidden_size or round((model.num_parameters * 128 / 12) ** (1 / 3))
    layers = s.num_hidden_layers or max(1, round(hidden / 128))
    return Shape(hidden, layers, s.intermediate_size or round(3.5 * hidden), s.vocab_size or 32_000)


def weight_bytes(cfg: Config) -> int:
    """Bytes a weight takes as loaded: the model's dtype, or 2 when auto and training in bf16/fp16."""
    dtype = cfg.model.dtype
    if dtype in ("bfloat16", "float16"):
        return 2
    if dtype == "float32":
        return 4
    return 4 if cfg.training.precision == "fp32" else 2


def sequence_tokens(cfg: Config) -> int:
    """The longest sequence a batch holds: max_length with packing, else twice the longest typical row."""
    t = cfg.training
    if t.packing:
        return t.max_length
    rows = [cfg.task[name].typical.tokens_per_row for name in training_sources(cfg) if name in cfg.task]
    return min(t.max_length, 2 * max(rows, default=t.max_length))


def eval_tokens(cfg: Config) -> int:
    """The longest sequence of a generation batch: twice the longest typical prompt, plus new tokens."""
    new = cfg.eval.max_new_tokens
    sizes = [
        2 * cfg.task[name].typical.tokens_per_row
        + (new if new is not None else cfg.task[name].max_new_tokens)
        for name in eval_tasks(cfg)
        if name in cfg.task
    ]
    return min(cfg.training.max_length, max(sizes, default=cfg.training.max_length))


@dataclass(frozen=True)
class MemoryEstimate:
    """Bytes of one run's parts on its GPU; `budget` is what packing reserves."""

    weights: float
    trainable: float
    activations: float
    logits: float

    @property
    def peak(self) -> float:
        """The expected peak of allocated memory (what torch.cuda.max_memory_allocated measures)."""
        return self.weights + self.trainable + self.activations + self.logits

    @property
    def budget(self) -> float:
        """What the run takes from its GPU: the peak, the allocator's slack and the CUDA context."""
        return self.peak * ALLOCATOR_SLACK + CUDA_CONTEXT

    def row(self) -> dict[str, float]:
        """The parts in GB (10^9 bytes), for `mixft plan --format json`."""
        parts = {"weights": self.weights, "trainable": self.trainable, "activations": self.activations}
        parts |= {"logits": self.logits, "peak": self.peak, "budget": self.budget}
        return {key: round(value / 1e9, 2) for key, value in parts.items()}


def _optimizer_states(optim: str, width: int) -> float:
    """Bytes of optimizer state per trainable parameter of `width` bytes."""
    name = optim.lower()
    if "8bit" in name:
        return 2.0
    for key, states in OPTIMIZER_STATES.items():
        if key in name:
            return states * width
    return ADAM_STATES * width


def estimate_memory(cfg: Config, trains: bool = True) -> MemoryEstimate:
    """One run's GPU memory per process (module docstring: the formula).

    Args:
        cfg: The run's resolved config.
        trains: False for a run that only evaluates (the base model, a trained one scored again):
            its weights and one generation batch's logits in fp32.
    """
    t, n, shape = cfg.training, cfg.model.num_parameters, model_shape(cfg)
    width = weight_bytes(cfg)
    if not trains or role_of(cfg) == "base":
        tokens = cfg.eval.batch_size * eval_tokens(cfg)
        return MemoryEstimate(n * width, 0.0, tokens * KV_BYTES * shape.hidden * shape.layers, 0.0)
    embeddings = 2 * shape.vocab * shape.hidden  # input and output embeddings (untied at worst)
    if t.method == "qlora":
        weights = max(n - embeddings, 0) * QLORA_BYTES + min(embeddings, n) * 2
    else:
        weights = n * width
    offload = t.deepspeed is not None and "offload" in t.deepspeed
    if t.method == "full":
        trainable = n * (width + (0 if offload else _optimizer_states(t.optim, width)))
    else:
        adapter = n * LORA_SHARE_PER_RANK * t.lora.r
        trainable = adapter * (8 + (0 if offload else _optimizer_states(t.optim, 4)))
    tokens = t.per_device_train_batch_size * sequence_tokens(cfg)
    per_layer = 2 * (ACT_HIDDEN * shape.hidden + ACT_INTERMEDIATE * shape.intermediate)
    if t.gradient_checkpointing:
        activations = tokens * (2 * shape.hidden * shape.layers + per_layer)
    else:
        activations = tokens * per_layer * shape.layers
    return MemoryEstimate(weights, trainable, activations, tokens * shape.vocab * LOGIT_BYTES)


def memory_key(cfg: Config) -> tuple[object, ...]:
    """Runs with the same key have the same estimate: an out-of-memory lowers the packing of all."""
    t = cfg.training
    return (cfg.model.name, t.method, t.optim, t.per_device_train_batch_size, sequence_tokens(cfg), t.lora.r)

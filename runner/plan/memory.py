"""What one training run holds in GPU memory: weights, gradients, optimizer states, activations, logits.

run: mixft plan cocktail_paper --gpu H200    (each run's `mem GB`; `--runs-per-gpu` packs by it)

Per GPU process, in bytes (N parameters, tokens = batch x sequence); each term's source is beside
its code. The published peaks it is checked against, with their ratios: docs/executors.md
("Memory estimate against published measurements"), tests/data/memory_measurements.yaml.
- weights: N x 2 in bf16/fp16, 4 in fp32; QLoRA: NF4 with double quantisation, embeddings in bf16
  (fp32 where the installed TRL upcasts them: plan/stack.py).
- trainable state: full fine-tuning: gradients and optimizer states at the weights' width (pure
  bf16 AdamW: 8 B/param in all); DeepSpeed ZeRO-2: 16 B/param of model states, the 14 B beyond the
  bf16 weights split between the ranks, and with optimizer offload only the bf16 weights (and the
  communication buckets) on the GPU. LoRA/QLoRA: the adapters counted from the model's shape and
  `target_modules`, in fp32 with AdamW: 16 B each.
- activations: per token and layer, what autograd keeps in a Llama-shaped layer, plus the inputs
  LoRA dropout keeps; gradient checkpointing keeps one hidden vector per layer and one layer's set.
- logits: 16 B per token and vocabulary entry where the stack builds them, else the fused head's
  buffers (plan/stack.py says which).
- the sequence: training.max_length with packing, else twice the longest typical row, at most
  max_length.
- a run that only evaluates: its weights and the KV cache of one generation batch.

The run's budget adds 10% for the caching allocator and 0.75 GiB for the CUDA context. When the
model's shape is unknown, hidden = (N x 128 / 12)^(1/3) and layers = hidden / 128 (Llama's ratio).
Measured peaks (train/peak_memory_gb in a run's metrics) check the formula: tests/gpu/test_tier.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from mixft.runner.config.run import eval_tasks, role_of, training_sources
from mixft.runner.config.schema import Config
from mixft.runner.plan.stack import Stack, run_stack

GIB = 2**30
# NF4 (0.5 B) plus the block constants: fp32 per 64 weights, double-quantised to 8 bits plus one
# fp32 per 256 blocks (QLoRA paper, Dettmers et al. 2023, sec. 3: 0.127 bits a parameter)
QLORA_BYTES = 0.516
ALLOCATOR_SLACK, CUDA_CONTEXT = 1.10, 0.75 * GIB
USABLE = 0.97  # share of a GPU's memory runs may reserve together (the driver keeps some)
ACT_HIDDEN, ACT_INTERMEDIATE = 8, 4  # tensors of hidden and intermediate width kept per layer
# Materialised logits, per token and vocabulary entry: bf16 logits (2), their fp32 upcast (4), the
# shifted fp32 copy cross-entropy reads (4), its log-softmax output and gradient (4 + 2). The Unsloth
# context-length benchmark (HF + FA2 baseline, Llama-3.1-8B) implies 16-17 once activations are
# taken out (tests/data/memory_measurements.yaml, rows unsloth-*).
LOGIT_BYTES = 16
# TRL's fused head (kernels/chunked_logprob.py): a tile of at most 4096 tokens x 32768 vocabulary
# entries in bf16, the hidden states it scores kept for the backward (2 B x hidden) and their fp32
# gradient (4 B x hidden) per token
FUSED_TOKENS, FUSED_VOCAB = 4096, 32768
KV_BYTES = 2  # bf16 keys or values, per token, layer and unit of key/value width
# optimizer states per trainable parameter, in units of the parameter's width (8-bit: bytes / 2)
OPTIMIZER_STATES = {"sgd": 0.0, "adafactor": 0.0, "lion": 1.0}
ADAM_STATES = 2.0
# ZeRO (Rajbhandari et al. 2020, sec. 3.1): mixed-precision Adam holds 2 + 2 + 12 = 16 B/param
# (fp16 weights and gradients, fp32 master weights, momentum and variance)
ZERO_STATES = 16
# ZeRO-Offload (Ren et al. 2021): the fp32 master weights and Adam's two states live in pinned host
# memory, 12 B/param per run; the GPU keeps the fp16 weights and the gradient buckets
OFFLOAD_HOST_BYTES = 12
ZERO_BUCKETS = 2 * (200_000_000 + 200_000_000)  # conf/accelerate/deepspeed_zero2*.json, fp16 elements
# PEFT's LoraConfig: fp32 adapters (autocast_adapter_dtype) with AdamW: weights, gradients, 2 states
ADAPTER_BYTES = 16
# Llama-style projections: name -> (input, output) width in units of (hidden, kv width, intermediate)
LLAMA_MODULES = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")


@dataclass(frozen=True)
class Shape:
    hidden: int
    layers: int
    intermediate: int
    vocab: int
    # width of the keys (and of the values): hidden x key/value heads / attention heads
    kv: int = 0

    def module(self, name: str) -> tuple[int, int]:
        """(input, output) width of a linear layer of a decoder layer, by its usual name; a name this
        table does not know counts as the widest (hidden to intermediate), an upper bound."""
        h, kv, i = self.hidden, self.kv or self.hidden, self.intermediate
        widths = {
            "q_proj": (h, h),
            "k_proj": (h, kv),
            "v_proj": (h, kv),
            "o_proj": (h, h),
            "gate_proj": (h, i),
            "up_proj": (h, i),
            "down_proj": (i, h),
            "qkv_proj": (h, h + 2 * kv),  # Phi-3
            "gate_up_proj": (h, 2 * i),
        }
        return widths.get(name, (h, i))


def model_shape(cfg: Config) -> Shape:
    """The layer sizes: a built model's, the config's `model.shape`, or derived from the count."""
    model = cfg.model
    if model.build is not None:
        b = model.build
        kv = b.hidden_size * b.num_key_value_heads // b.num_attention_heads
        return Shape(b.hidden_size, b.num_hidden_layers, b.intermediate_size, b.vocab_size, kv)
    s = model.shape
    hidden = s.hidden_size or round((model.num_parameters * 128 / 12) ** (1 / 3))
    layers = s.num_hidden_layers or max(1, round(hidden / 128))
    kv = hidden
    if s.num_attention_heads and s.num_key_value_heads:  # grouped-query attention: narrower k and v
        kv = hidden * s.num_key_value_heads // s.num_attention_heads
    return Shape(hidden, layers, s.intermediate_size or round(3.5 * hidden), s.vocab_size or 32_000, kv)


def model_parameters(cfg: Config) -> int:
    """N: a model mixft builds counted from its shape (Llama: tied embeddings, q/k/v/o, gate/up/down,
    two norms a layer and a final one), else `model.num_parameters`."""
    if cfg.model.build is None:
        return cfg.model.num_parameters
    s = model_shape(cfg)
    layer = s.hidden * (2 * s.hidden + 2 * s.kv) + 3 * s.hidden * s.intermediate + 2 * s.hidden
    return s.vocab * s.hidden + s.layers * layer + s.hidden


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
    """Bytes of one run's parts on its GPU; `budget` is what packing reserves. `host` is the pinned
    CPU memory it holds (ZeRO offload), checked against the host's when packing."""

    weights: float
    trainable: float
    activations: float
    logits: float
    host: float = 0.0

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
        parts |= {"logits": self.logits, "peak": self.peak, "budget": self.budget, "host": self.host}
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


def lora_modules(cfg: Config) -> list[str]:
    """The projections of one decoder layer LoRA wraps: `target_modules`, "all-linear" as Llama's
    seven (PEFT's all-linear: every linear layer but the output head)."""
    targets = cfg.training.lora.target_modules
    return list(LLAMA_MODULES) if "all-linear" in targets or not targets else list(targets)


def adapter_parameters(cfg: Config) -> int:
    """LoRA's trainable parameters: r x (input + output width) for each wrapped projection of each
    layer (A is r x in, B is out x r), keys and values narrower under grouped-query attention."""
    shape, r = model_shape(cfg), cfg.training.lora.r
    return r * shape.layers * sum(sum(shape.module(name)) for name in lora_modules(cfg))


def _dropout_bytes(cfg: Config, shape: Shape) -> int:
    """Per token and layer, what LoRA dropout keeps for the backward: each wrapped projection's
    dropped-out input in bf16 (2 B) and its mask (1 B); none without dropout (PEFT uses Identity)."""
    t, reg = cfg.training, cfg.regularizer
    dropout = reg.lora_dropout if reg.lora_dropout is not None else t.lora.dropout
    if t.method == "full" or not dropout:
        return 0
    return 3 * sum(shape.module(name)[0] for name in lora_modules(cfg))


def _weights(cfg: Config, shape: Shape, stack: Stack) -> float:
    """Bytes of the loaded weights; QLoRA: the decoder layers in NF4, embeddings at 2 B (4 upcast)."""
    n = model_parameters(cfg)
    if cfg.training.method != "qlora":
        return n * weight_bytes(cfg)
    embeddings = min(2 * shape.vocab * shape.hidden, n)  # input and output embeddings (untied at worst)
    return (n - embeddings) * QLORA_BYTES + embeddings * (4 if stack.kbit_upcast else 2)


def _trainable(cfg: Config, ranks: int) -> tuple[float, float]:
    """Bytes of gradients and optimizer states on the GPU, and pinned on the host (ZeRO offload)."""
    t, n, width = cfg.training, model_parameters(cfg), weight_bytes(cfg)
    deepspeed = t.deepspeed or ""
    if t.method != "full":
        adapters = adapter_parameters(cfg)
        offload = "offload" in deepspeed
        return adapters * (8 if offload else ADAPTER_BYTES), adapters * OFFLOAD_HOST_BYTES * offload
    if "offload" in deepspeed:  # the weights themselves are counted in _weights
        return ZERO_BUCKETS * 2, n * OFFLOAD_HOST_BYTES
    if "zero" in deepspeed:
        return n * (ZERO_STATES - 2) / max(1, ranks), 0.0
    return n * (width + _optimizer_states(t.optim, width)), 0.0


def _activations(cfg: Config, shape: Shape, tokens: int) -> float:
    """Bytes autograd keeps for the backward (sdpa and flash attention keep no attention matrix)."""
    per_layer = 2 * (ACT_HIDDEN * shape.hidden + ACT_INTERMEDIATE * shape.intermediate)
    per_layer += _dropout_bytes(cfg, shape)
    if cfg.training.gradient_checkpointing:  # one bf16 hidden vector per layer, one layer recomputed
        return tokens * (2 * shape.hidden * shape.layers + per_layer)
    return tokens * per_layer * shape.layers


def _logits(cfg: Config, shape: Shape, tokens: int, stack: Stack) -> float:
    """Bytes of the loss's logits: materialised, or the fused head's tile and per-token buffers (and
    its fp32 gradient of the head's weight when the head trains)."""
    if not stack.fused_logits:
        return tokens * shape.vocab * LOGIT_BYTES
    head_grad = 4 * shape.vocab * shape.hidden if cfg.training.method == "full" else 0
    tile = min(tokens, FUSED_TOKENS) * min(shape.vocab, FUSED_VOCAB) * 2
    return tile + tokens * 6 * shape.hidden + head_grad


def estimate_memory(
    cfg: Config, trains: bool = True, stack: Stack | None = None, ranks: int = 1
) -> MemoryEstimate:
    """One run's GPU memory per process (module docstring: the formula).

    Args:
        cfg: The run's resolved config.
        trains: False for a run that only evaluates (the base model, a trained one scored again).
        stack: The training stack to describe (plan/stack.py); default: the installed one.
        ranks: Processes the run trains on (ZeRO splits its states between them).
    """
    shape = model_shape(cfg)
    if not trains or role_of(cfg) == "base":
        tokens = cfg.eval.batch_size * eval_tokens(cfg)
        kv_cache = tokens * 2 * KV_BYTES * shape.kv * shape.layers  # keys and values, bf16
        return MemoryEstimate(model_parameters(cfg) * weight_bytes(cfg), 0.0, kv_cache, 0.0)
    stack = run_stack(cfg, stack)
    tokens = cfg.training.per_device_train_batch_size * sequence_tokens(cfg)
    trainable, host = _trainable(cfg, ranks)
    return MemoryEstimate(
        _weights(cfg, shape, stack),
        trainable,
        _activations(cfg, shape, tokens),
        _logits(cfg, shape, tokens, stack),
        host,
    )


def memory_key(cfg: Config, trains: bool = True) -> tuple[object, ...]:
    """Runs with the same key have the same estimate: an out-of-memory lowers the packing of all.
    Everything that changes the estimate is in it: a run that only evaluates shares no key with one
    that trains."""
    t = cfg.training
    if not trains or role_of(cfg) == "base":
        return ("eval", cfg.model.name, cfg.model.dtype, cfg.eval.batch_size, eval_tokens(cfg))
    return (
        "train",
        cfg.model.name,
        cfg.model.dtype,
        t.method,
        t.optim,
        t.per_device_train_batch_size,
        sequence_tokens(cfg),
        t.lora.r if t.method != "full" else 0,
        tuple(t.lora.target_modules) if t.method != "full" else (),
        t.gradient_checkpointing,
        t.deepspeed,
        t.precision,
    )

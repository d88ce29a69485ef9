"""Which training stack the memory estimate describes: what the installed TRL does with the logits
and with a 4-bit model's embeddings (read from its version; nothing is imported).

run: mixft plan cocktail_paper_lora --gpu H100    (the estimate follows the TRL installed here)

- Logits: from TRL 1.15.0 on, SFTTrainer patches a fused LM head into the model
  (trl/trainer/utils.py `add_fused_lm_head`, kernels/chunked_logprob.py): the hidden states go
  through the head in tiles of 4096 tokens x 32768 vocabulary entries and reduce to per-token
  log-probabilities, so the [tokens, vocab] logits are never built (TRL v1.15.0 release notes:
  "on by default"). Label smoothing and `compute_loss_func` still build the full logits there.
  Before 1.15 with PEFT, and in every other stack, they are built (plan/memory.py: LOGIT_BYTES).
- QLoRA: up to TRL 0.24, SFTTrainer called `peft.prepare_model_for_kbit_training`, which casts every
  parameter that is not 4-bit (input and output embeddings, norms) to fp32; TRL 0.25 upcast the
  norms only, and 0.26 dropped the call (trl/trainer/sft_trainer.py at each tag).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version

from packaging.version import Version

from mixft.runner.config.schema import Config

FUSED_HEAD_SINCE = Version("1.15.0")
NO_KBIT_UPCAST_SINCE = Version("0.25.0")


@dataclass(frozen=True)
class Stack:
    """What the trainer keeps in memory beyond the model: the parts that change between stacks."""

    # the loss comes from a tiled LM head: no [tokens, vocab] logits
    fused_logits: bool
    # QLoRA's embeddings and LM head upcast to fp32 (peft.prepare_model_for_kbit_training)
    kbit_upcast: bool
    # where the answer came from, for messages ("trl 1.16.0")
    label: str = ""


def stack_of_trl(trl: str | None) -> Stack:
    """The stack of a TRL version; None (not installed) reads as the oldest behaviour: an upper bound."""
    if trl is None:
        return Stack(fused_logits=False, kbit_upcast=True, label="trl not installed")
    v = Version(trl)
    return Stack(v >= FUSED_HEAD_SINCE, v < NO_KBIT_UPCAST_SINCE, f"trl {trl}")


@cache
def installed_stack() -> Stack:
    """The stack of the TRL installed in this environment."""
    try:
        return stack_of_trl(version("trl"))
    except PackageNotFoundError:
        return stack_of_trl(None)


def run_stack(cfg: Config, stack: Stack | None = None) -> Stack:
    """The stack a run trains on: `stack` (default: the installed one), with the full logits back
    where its SFT arguments ask for a loss the fused head does not compute (label smoothing)."""
    stack = stack or installed_stack()
    kwargs = cfg.training.sft_kwargs
    if kwargs.get("label_smoothing_factor") or kwargs.get("loss_type") not in (None, "nll", "dft"):
        return Stack(False, stack.kbit_upcast, stack.label + ", full logits for the loss asked")
    return stack

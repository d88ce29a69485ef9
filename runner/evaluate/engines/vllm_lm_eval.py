"""lm-eval's vLLM model on the engine a run already holds: a suite's generative tasks go through it.

run: mixft run model=tiny data.samples=true 'mixture.tasks=[fpb]' eval.engine=vllm eval.suites=[general]

lm-eval's `VLLM` loads its own `LLM` from a path; this subclass takes mixft's engine instead (no second
load of the weights, one engine per base model), the run's tokenizer (the prompts HFLM would see) and
the run's LoRA adapter as the request of every generation. Everything else is lm-eval's: batching,
stop sequences, truncation, chat templates.
"""

from __future__ import annotations

from functools import cache
from typing import Any


@cache
def _model_class() -> type:
    from lm_eval.api.model import TemplateLM
    from lm_eval.models.vllm_causallms import VLLM

    class OnEngine(VLLM):  # type: ignore[misc, valid-type]
        """lm-eval's vLLM model on an engine that is already loaded."""

        def __init__(self, engine: Any, tokenizer: Any, lora: Any, max_length: int | None) -> None:
            TemplateLM.__init__(self)
            self.model, self.tokenizer, self.lora_request = engine, tokenizer, lora
            self._max_length = max_length
            self._config = engine.llm_engine.model_config.hf_config
            self.model_args: dict[str, Any] = {}
            self.tensor_parallel_size = self.data_parallel_size = 1
            self.truncation_side = "left"
            self.batch_size = "auto"  # vLLM schedules every request at once
            self.add_bos_token = None  # the tokenizer's own default, as HFLM does
            self.custom_prefix_token_id = None
            self.think_end_token = self.enable_thinking = None
            self.chat_template_args: dict[str, Any] = {}
            self.hf_chat_template = None  # the tokenizer's template
            self._max_gen_toks = 256  # lm-eval's default; a task or suite's max_gen_toks overrides it

    return OnEngine


def lm_eval_model(engine: Any, tokenizer: Any, lora: Any, max_length: int | None) -> Any:
    """An lm-eval model that generates on `engine` (a vLLM `LLM`) with `lora` (a LoRARequest or None).

    Args:
        engine: The run's vLLM engine.
        tokenizer: The run's tokenizer: the prompts are encoded as HFLM would encode them.
        lora: The adapter request of a LoRA arm, or None.
        max_length: Context length in tokens (prompts are left-truncated to leave room to generate);
            None: the engine's.
    """
    return _model_class()(engine, tokenizer, lora, max_length)

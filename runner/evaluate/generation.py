"""Batched greedy generation: the engine every evaluation runs on.

run: python tests/bench/eval_speed.py    (batch size 32 against one prompt at a time)
"""

from __future__ import annotations

from typing import Any


def stop_ids(model: Any, tokenizer: Any) -> list[int]:
    """Token ids that end an answer: the tokenizer's eos and those of the model's generation config."""
    # Chat models often end a turn with a token other than the tokenizer's eos (Phi-3: <|end|>,
    # Llama 3: <|eot_id|>); their generation config lists those too, so stop at any of them.
    ids = [tokenizer.eos_token_id]
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    for extra in configured if isinstance(configured, list) else [configured]:
        if extra is not None and extra not in ids:
            ids.append(extra)
    return ids


def _generate_batch(model: Any, tokenizer: Any, ids: list[list[int]], max_new_tokens: int) -> list[str]:
    inputs = tokenizer.pad({"input_ids": ids}, return_tensors="pt").to(model.device)  # left-padded
    out = model.generate(
        **inputs,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=stop_ids(model, tokenizer),
    )
    # every row's prompt ends at the same column, so the new tokens are the columns after it
    new = out[:, inputs["input_ids"].shape[1] :]
    return [text.strip() for text in tokenizer.batch_decode(new, skip_special_tokens=True)]


def prompt_ids(tokenizer: Any, prompts: list[list[dict[str, str]]]) -> list[list[int]]:
    """Token ids of chat prompts, the assistant's turn opened: what every engine generates from."""
    texts = [tokenizer.apply_chat_template(p, add_generation_prompt=True, tokenize=False) for p in prompts]
    # the chat template already writes any BOS token the model expects
    return tokenizer(texts, add_special_tokens=False)["input_ids"]


def generate(
    model: Any, tokenizer: Any, prompts: list[list[dict[str, str]]], max_new_tokens: int, batch_size: int
) -> list[str]:
    """Greedy answers to chat prompts, generated in batches.

    Prompts are sorted by token length (longest first, so a batch that does not fit in memory fails at
    once) and left-padded, so every row's answer starts right after its own prompt.

    Args:
        model: A causal LM (transformers); switched to eval mode for the call.
        tokenizer: Its tokenizer, with a chat template and a pad token.
        prompts: One list of chat messages per prompt.
        max_new_tokens: Generation budget per prompt, in tokens.
        batch_size: Prompts per `model.generate` call.

    Returns:
        The generated text of each prompt (new tokens only, special tokens dropped, stripped), in the
        order of `prompts`.
    """
    import torch

    if not prompts:
        return []
    ids = prompt_ids(tokenizer, prompts)
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    step = max(1, batch_size)
    outputs = [""] * len(ids)
    side, was_training = tokenizer.padding_side, model.training
    tokenizer.padding_side = "left"
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), step):
                batch = order[start : start + step]
                answers = _generate_batch(model, tokenizer, [ids[i] for i in batch], max_new_tokens)
                for i, answer in zip(batch, answers, strict=True):
                    outputs[i] = answer
    finally:
        tokenizer.padding_side = side
        model.train(was_training)
    return outputs

"""The one place that maps mixft's training config onto TRL's `SFTConfig` and PEFT's `LoraConfig`.

run: mixft run training=lora model=tiny data.samples=true mixture.tasks=[fpb]

TRL and transformers rename arguments between releases; keeping the mapping here means such churn
touches one file.
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path
from typing import Any

from mixft.runner.config.run import epochs_and_warmup
from mixft.runner.config.schema import Config
from mixft.runner.errors import ConfigError
from mixft.runner.train.precision import four_bit_config, precision_flags

DEEPSPEED_PACKAGE = "mixft.conf.accelerate"


def deepspeed_problem(name: str | None, cuda: bool, cpu_processes: int) -> str | None:
    """Why training.deepspeed cannot train where a run executes (one line), or None.

    Without CUDA, DeepSpeed runs on its CPU accelerator only in a run over several processes
    (`--procs-per-run`). The one owner of the rule: a run asks it in its process, and the pre-flight of
    a local sweep asks it for the slots its runs will get (runner/execute/capabilities.py).

    Args:
        name: training.deepspeed (None: no DeepSpeed).
        cuda: The run trains on CUDA GPUs.
        cpu_processes: Processes a CPU run trains on (1 without a launcher).
    """
    if name is None:
        return None
    import importlib.util

    if importlib.util.find_spec("deepspeed") is None:
        return (
            f"training.deepspeed={name} needs the deepspeed package (pip install 'mixft[gpu]', or -e '.[dev]' in a checkout); "
            "set training.deepspeed=null to train without it"
        )
    if not cuda and cpu_processes < 2:
        return (
            f"training.deepspeed={name} without CUDA runs over several CPU processes: mixft sweep SWEEP --procs-per-run 2; "
            "set training.deepspeed=null to train without it"
        )
    return None


def deepspeed_config(name: str | None, cuda: bool) -> str | None:
    """Path of a packaged DeepSpeed config (conf/accelerate/deepspeed_<name>.json), or None.

    Raises:
        ConfigError: DeepSpeed is asked for where it cannot run (`deepspeed_problem`).
    """
    if name is None:
        return None
    problem = deepspeed_problem(name, cuda, _cpu_processes())
    if problem is not None:
        raise ConfigError(problem)
    path = files(DEEPSPEED_PACKAGE).joinpath(f"deepspeed_{name}.json")
    if not path.is_file():
        raise ConfigError(f"training.deepspeed={name}: no {path}; see conf/accelerate/deepspeed_*.json")
    return str(path)


def _cpu_processes() -> int:
    """Processes of this CPU run with DeepSpeed: WORLD_SIZE where the launcher set DeepSpeed's CPU
    accelerator (execute/launch.py), else 1."""
    if os.environ.get("DS_ACCELERATOR") != "cpu":
        return 1
    return int(os.environ.get("WORLD_SIZE", "1"))


def deepspeed_args(name: str | None, cuda: bool) -> dict[str, Any]:
    """SFTConfig arguments for training.deepspeed: its JSON, and where to train (use_cpu).

    On CPU, transformers (5.25) cannot start DeepSpeed by itself: use_cpu turns it off, and without
    use_cpu accelerate finds no backend for the CPU and counts one process of rank 0 in each rank
    ("No backend == no distributed training"; each rank would then write checkpoints and shard no
    data). So the process state is made here first, DeepSpeed's over gloo, and the trainer told to
    use it (accelerator_config.use_configured_state).
    """
    path = deepspeed_config(name, cuda)
    if path is None or cuda:
        return {"deepspeed": path, "use_cpu": not cuda}
    from accelerate import PartialState

    before = os.environ.get("ACCELERATE_USE_DEEPSPEED")
    os.environ["ACCELERATE_USE_DEEPSPEED"] = "true"  # what `accelerate launch` sets for DeepSpeed
    try:
        PartialState(backend="gloo")
    finally:
        if before is None:
            del os.environ["ACCELERATE_USE_DEEPSPEED"]
        else:
            os.environ["ACCELERATE_USE_DEEPSPEED"] = before
    return {"deepspeed": path, "use_cpu": False, "accelerator_config": {"use_configured_state": True}}


def to_sft_config(cfg: Config, output_dir: Path, report_to: str) -> Any:
    """The `SFTConfig` of a run (checkpoints go to `output_dir`).

    Args:
        cfg: The run config.
        output_dir: Where the trainer writes checkpoints.
        report_to: "wandb" or "none", from the run's tracker.
    """
    import torch
    from trl import SFTConfig

    t, reg = cfg.training, cfg.regularizer
    epochs, warmup = epochs_and_warmup(cfg)
    kwargs: dict[str, Any] = {
        "output_dir": str(output_dir),
        "learning_rate": t.learning_rate,
        "lr_scheduler_type": t.lr_scheduler_type,
        "warmup_steps": warmup,
        "weight_decay": reg.weight_decay if reg.weight_decay is not None else t.weight_decay,
        "max_grad_norm": t.max_grad_norm,
        "optim": t.optim,
        "per_device_train_batch_size": t.per_device_train_batch_size,
        "gradient_accumulation_steps": t.gradient_accumulation_steps,
        "num_train_epochs": epochs,
        "max_steps": t.max_steps,
        "max_length": t.max_length,
        "packing": t.packing,
        # rows arrive tokenised with answer-only labels; TRL only has to pack them when asked
        "dataset_kwargs": {"skip_prepare_dataset": not t.packing},
        "gradient_checkpointing": t.gradient_checkpointing,
        "neftune_noise_alpha": reg.neftune_noise_alpha,
        "logging_steps": t.logging_steps,
        "save_strategy": "steps" if t.save_steps else "no",
        "save_steps": t.save_steps or 500,
        "save_total_limit": 2,
        "seed": cfg.seed,
        "data_seed": cfg.seed,
        "report_to": report_to,
        **deepspeed_args(t.deepspeed, torch.cuda.is_available()),
        "disable_tqdm": True,
        # tokens trained on, padding left out: the run's tokens/s (train/tokens_per_s)
        "include_num_input_tokens_seen": "non_padding",
        **precision_flags(t.precision),
        **t.sft_kwargs,
    }
    try:
        return SFTConfig(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"training config rejected by TRL: {exc}") from None


def lora_config(cfg: Config) -> Any:
    """PEFT LoraConfig for training.method lora/qlora; None for full fine-tuning."""
    if cfg.training.method == "full":
        return None
    from peft import LoraConfig

    lora = cfg.training.lora
    modules = lora.target_modules
    return LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=cfg.regularizer.lora_dropout
        if cfg.regularizer.lora_dropout is not None
        else lora.dropout,
        target_modules=modules[0] if modules == ["all-linear"] else modules,
        task_type="CAUSAL_LM",
    )


def quantization_config(cfg: Config) -> Any:
    """bitsandbytes 4-bit config for qlora (CUDA or CPU; see precision.four_bit_config), else None.

    Raises:
        ConfigError: qlora on a machine where bitsandbytes cannot quantise.
    """
    if cfg.training.method != "qlora":
        return None
    return four_bit_config()

"""Train ColorMotionNet on (frame t-1, frame t) pairs.

    python -m training.train --name main --max-steps 3000 --max-minutes 60

Each pair runs the recurrence for two steps, as the engine does: frame t-1 with no previous
state (has_prev = 0), then frame t with the features of t-1 warped by the flow. The loss is the
paper's MSE on a*b* of both frames (plus optional temporal-consistency and Huber variants, off by
default). Everything a run does lands in runs/<name>/ (outside git): config.json, log.jsonl with
every logged loss, checkpoints (last.pt, resumed automatically) and the exported ONNX.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import random
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

# On a shared, oversubscribed CPU, OpenMP threads spinning at barriers make a step up to 10x
# slower; passive waiting avoids that. Must be set before the OpenMP runtime starts.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from training.model import ColorMotionNet, warp  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
TFLITE = REPO_ROOT.parent / "shared" / "data" / "weights" / "mobilenet_v2_1.0_224_quant.tflite"


@dataclass
class TrainConfig:
    name: str = "main"
    runs_dir: str = str(REPO_ROOT / "runs")
    seed: int = 0
    # data (training.data.pairs.build_datasets)
    crop: int = 128
    batch_size: int = 16
    samples_per_epoch: int = 20000
    val_samples: int = 256
    still_fraction: float = 0.5
    workers: int = 1
    # optimisation
    max_steps: int = 3000
    max_minutes: float = 60.0  # stop early (with a checkpoint) when the wall clock runs out
    lr: float = 1e-3
    encoder_lr_scale: float = 0.3  # the pretrained encoder moves more slowly than the new layers
    weight_decay: float = 1e-4
    warmup_steps: int = 100
    grad_clip: float = 1.0
    # loss
    huber_delta: float = 0.0  # 0: plain MSE (the paper); > 0: Huber with this delta on a*b*/110
    temporal_weight: float = 0.0  # weight of |ab_t - warp(ab_{t-1})| on video pairs
    # bookkeeping
    threads: int = 2
    log_every: int = 20
    val_every: int = 500
    checkpoint_every: int = 100
    init_from: str = ""  # a checkpoint to start the weights from (e.g. for pruning fine-tune)
    notes: dict = field(default_factory=dict)

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.name


# ---------------------------------------------------------------- loss


def colour_loss(pred: torch.Tensor, target: torch.Tensor, huber_delta: float) -> torch.Tensor:
    if huber_delta > 0:
        return F.huber_loss(pred, target, delta=huber_delta)
    return F.mse_loss(pred, target)


def run_pair(model: ColorMotionNet, batch: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
    """Two recurrence steps over a batch of pairs -> (ab of t-1, ab of t), each [N,2,H,W]."""
    gray, hints, flow = batch["gray"], batch["hints"], batch["flow"]
    first = gray[:, 0]
    prev_feat, zero_flow, no_prev = model.zero_state(first)
    ab_prev, feat_prev, _ = model(first, hints[:, 0], prev_feat, zero_flow, no_prev)
    ab_now, _, _ = model(gray[:, 1], hints[:, 1], feat_prev, flow, torch.ones_like(no_prev))
    return ab_prev, ab_now


def pair_losses(
    model: ColorMotionNet, batch: dict[str, torch.Tensor], config: TrainConfig
) -> dict[str, torch.Tensor]:
    ab_prev, ab_now = run_pair(model, batch)
    target = batch["ab"]
    losses = {
        "colour_prev": colour_loss(ab_prev, target[:, 0], config.huber_delta),
        "colour_now": colour_loss(ab_now, target[:, 1], config.huber_delta),
    }
    total = losses["colour_prev"] + losses["colour_now"]
    if config.temporal_weight > 0:
        # Frame t should carry the colours of t-1 along the motion, where the ground truth does.
        warped_pred = warp(ab_prev, batch["flow_px"])
        warped_true = warp(target[:, 0], batch["flow_px"])
        consistent = ((warped_true - target[:, 1]).abs().sum(1, keepdim=True) < 0.05).float()
        losses["temporal"] = ((ab_now - warped_pred).abs() * consistent).mean()
        total = total + config.temporal_weight * losses["temporal"]
    losses["total"] = total
    return losses


# ---------------------------------------------------------------- data


def build_data(config: TrainConfig):
    from training.data.pairs import build_datasets

    return build_datasets(
        crop=config.crop,
        stride=ColorMotionNet.FEATURE_STRIDE,
        seed=config.seed,
        samples_per_epoch=config.samples_per_epoch,
        val_samples=config.val_samples,
        still_fraction=config.still_fraction,
    )


def epoch_loader(dataset, config: TrainConfig, epoch: int, skip_batches: int) -> DataLoader:
    """A deterministic order for `epoch`, starting after `skip_batches` (for resuming)."""
    dataset.set_epoch(epoch)
    order = np.random.default_rng([config.seed, epoch]).permutation(len(dataset))
    order = order[skip_batches * config.batch_size :].tolist()
    return DataLoader(
        dataset,
        batch_size=config.batch_size,
        sampler=order,
        num_workers=config.workers,
        drop_last=True,
        persistent_workers=False,
    )


def to_device(batch: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {key: value.to(device, non_blocking=True) for key, value in batch.items()}


def describe_data(train_set, val_set) -> dict:
    from training.data.pairs import describe

    return {"train": describe(train_set), "val": describe(val_set)}


@torch.no_grad()
def validate(model: ColorMotionNet, val_set, config: TrainConfig, device: torch.device) -> dict[str, float]:
    model.eval()
    loader = DataLoader(val_set, batch_size=config.batch_size, num_workers=config.workers)
    sums: dict[str, float] = {}
    count = 0
    for batch in loader:
        batch = to_device(batch, device)
        ab_prev, ab_now = run_pair(model, batch)
        n = batch["gray"].shape[0]
        target = batch["ab"]
        for key, value in {
            "val_mse_prev": F.mse_loss(ab_prev, target[:, 0]),
            "val_mse_now": F.mse_loss(ab_now, target[:, 1]),
            # The constant "grey" prediction, as a yardstick for the numbers above.
            "val_mse_grey": F.mse_loss(torch.zeros_like(ab_now), target[:, 1]),
        }.items():
            sums[key] = sums.get(key, 0.0) + float(value) * n
        count += n
    model.train()
    return {key: value / count for key, value in sums.items()}


# ---------------------------------------------------------------- model / optimiser


def build_model(config: TrainConfig) -> ColorMotionNet:
    if config.init_from:
        return load_checkpoint_model(config.init_from)
    if not TFLITE.is_file():
        raise FileNotFoundError(f"pretrained MobileNetV2 weights not found at {TFLITE}")
    return ColorMotionNet.from_tflite(TFLITE)


def build_optimizer(model: ColorMotionNet, config: TrainConfig) -> torch.optim.Optimizer:
    encoder = list(model.encoder.parameters())
    encoder_ids = {id(p) for p in encoder}
    rest = [p for p in model.parameters() if id(p) not in encoder_ids]
    groups = [
        {
            "params": encoder,
            "lr": config.lr * config.encoder_lr_scale,
            "base_lr": config.lr * config.encoder_lr_scale,
        },
        {"params": rest, "lr": config.lr, "base_lr": config.lr},
    ]
    return torch.optim.AdamW(groups, weight_decay=config.weight_decay)


def lr_factor(step: int, elapsed_s: float, config: TrainConfig) -> float:
    """Linear warm-up, then cosine decay to 5 % at max_steps or max_minutes, whichever comes first.

    On a shared CPU the step rate is unpredictable; following the clock too makes a run cut short
    by max_minutes still end on a decayed learning rate.
    """
    if step < config.warmup_steps:
        return (step + 1) / config.warmup_steps
    by_steps = (step - config.warmup_steps) / max(1, config.max_steps - config.warmup_steps)
    progress = min(1.0, max(by_steps, elapsed_s / (config.max_minutes * 60)))
    return 0.05 + 0.95 * 0.5 * (1.0 + math.cos(math.pi * progress))


def save_checkpoint(path: Path, model, optimizer, step: int, epoch: int, batch_in_epoch: int, elapsed: float):
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(
        {
            "model": model.state_dict(),
            "model_spec": model.spec(),
            "optimizer": optimizer.state_dict() if optimizer is not None else None,
            "step": step,
            "epoch": epoch,
            "batch_in_epoch": batch_in_epoch,
            "elapsed_s": elapsed,
        },
        tmp,
    )
    tmp.replace(path)


def load_checkpoint_model(path: str | Path) -> ColorMotionNet:
    """The model stored in a checkpoint (pruned or not), on the CPU, in eval mode."""
    state = torch.load(path, map_location="cpu", weights_only=False)
    model = ColorMotionNet(**state.get("model_spec", {}))
    model.load_state_dict(state["model"])
    return model.eval()


# ---------------------------------------------------------------- loop


class RunLog:
    """Appends one JSON object per line to runs/<name>/log.jsonl and echoes a short line."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path

    def write(self, record: dict) -> None:
        record = {"time": time.strftime("%Y-%m-%dT%H:%M:%S"), **record}
        with open(self.path, "a") as stream:
            stream.write(json.dumps(record) + "\n")


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def train(config: TrainConfig) -> Path:
    """Run (or resume) training; returns the path of the final checkpoint."""
    torch.set_num_threads(config.threads)
    seed_everything(config.seed)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    run_dir = config.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    log = RunLog(run_dir / "log.jsonl")
    (run_dir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1))

    train_set, val_set = build_data(config)
    model = build_model(config).to(device).train()
    optimizer = build_optimizer(model, config)
    step, epoch, batch_in_epoch, elapsed_before = 0, 0, 0, 0.0
    last = run_dir / "last.pt"
    if last.is_file():
        state = torch.load(last, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        step, epoch, batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
        elapsed_before = state["elapsed_s"]
        print(f"resumed {last} at step {step}", file=sys.stderr)
    params = sum(p.numel() for p in model.parameters())
    log.write(
        {
            "event": "start",
            "step": step,
            "device": str(device),
            "params": params,
            "config": dataclasses.asdict(config),
        }
    )

    started = time.perf_counter()
    window: dict[str, float] = {}
    window_pairs, window_start = 0, time.perf_counter()

    def elapsed() -> float:
        return elapsed_before + time.perf_counter() - started

    def checkpoint() -> None:
        save_checkpoint(last, model, optimizer, step, epoch, batch_in_epoch, elapsed())

    done = False
    while not done:
        for batch in epoch_loader(train_set, config, epoch, batch_in_epoch):
            for group in optimizer.param_groups:
                group["lr"] = group["base_lr"] * lr_factor(step, elapsed(), config)
            losses = pair_losses(model, to_device(batch, device), config)
            optimizer.zero_grad(set_to_none=True)
            losses["total"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            step += 1
            batch_in_epoch += 1
            window_pairs += batch["gray"].shape[0]
            for key, value in losses.items():
                window[key] = window.get(key, 0.0) + value.item()

            if step % config.log_every == 0:
                seconds = time.perf_counter() - window_start
                means = {key: value / config.log_every for key, value in window.items()}
                record = {"step": step, "epoch": epoch, "pairs_per_s": window_pairs / seconds, **means}
                log.write(
                    {
                        "event": "train",
                        "elapsed_s": elapsed(),
                        "lr": optimizer.param_groups[1]["lr"],
                        **record,
                    }
                )
                print(
                    f"step {step:5d}  loss {means['total']:.5f}  {record['pairs_per_s']:.1f} pairs/s  "
                    f"{elapsed() / 60:.1f} min",
                    flush=True,
                )
                window, window_pairs, window_start = {}, 0, time.perf_counter()
            if step % config.val_every == 0:
                log.write(
                    {
                        "event": "val",
                        "step": step,
                        "elapsed_s": elapsed(),
                        **validate(model, val_set, config, device),
                    }
                )
            if step % config.checkpoint_every == 0:
                checkpoint()
            if step >= config.max_steps or elapsed() >= config.max_minutes * 60:
                done = True
                break
        else:
            epoch, batch_in_epoch = epoch + 1, 0

    checkpoint()
    val = validate(model, val_set, config, device)
    log.write({"event": "end", "step": step, "elapsed_s": elapsed(), **val})
    final = run_dir / "final.pt"
    save_checkpoint(final, model.cpu(), None, step, epoch, batch_in_epoch, elapsed())
    print(f"done: step {step}, {elapsed() / 60:.1f} min, val {val}", flush=True)
    return final


def config_from_args(config_class, argv: list[str] | None = None, description: str | None = __doc__):
    """A training configuration dataclass from --name-with-dashes options of its scalar and
    list-of-string fields."""
    parser = argparse.ArgumentParser(
        description=description, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    for f in dataclasses.fields(config_class):
        flag = "--" + f.name.replace("_", "-")
        if f.type in ("int", "float", "str"):
            parser.add_argument(flag, type=type(f.default), default=f.default)
        elif f.type == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default)
        elif f.type == "list[str]":
            parser.add_argument(flag, nargs="+", metavar="NAME", default=f.default_factory())
    return config_class(**vars(parser.parse_args(argv)))


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    return config_from_args(TrainConfig, argv)


if __name__ == "__main__":
    train(parse_args())

"""Train ColorMotionNet2 (references, persistent hints, vivid colour) on guided samples.

    python -m training.train_v2 --name v2 --max-minutes 600

Each sample (training.data.sequences) runs what the engine runs for frames t and t+1 of a shot
with a reference r: encode all three frames in one batch, the reference's key and colour, then
decode t from its own features (a chain start) and t+1 from the state blended with t's.

Loss, per frame: Zhang et al. 2016's class-rebalanced cross-entropy over quantised a*b* at
stride 4 (soft-encoded targets), which keeps colour vivid, plus a smooth-L1 on the final a*b*,
which keeps PSNR and makes hinted pixels keep their colour. Runs stop and resume from
<runs>/<name>/last.pt with the same data order; <runs> defaults to ../colormotion-runs,
outside the repository. Runs begun before `--activation` existed (v2, v3) were ReLU networks:
resume them with `--activation relu`.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from colormotion.temporal import propagate  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.data import DataLoader  # noqa: E402

from training.mobilenet_tflite import load_tflite_mobilenet_v2  # noqa: E402
from training.model import warp  # noqa: E402
from training.model_v2 import ColorMotionNet2, pooled, premultiplied, switch_to_prelu  # noqa: E402
from training.train import RunLog, config_from_args, epoch_loader, lr_factor, seed_everything  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]
TFLITE = REPO_ROOT.parent / "shared" / "data" / "weights" / "mobilenet_v2_1.0_224_quant.tflite"
DEFAULT_RUNS = Path(os.environ.get("COLORMOTION_RUNS", REPO_ROOT.parent / "colormotion-runs"))


@dataclass
class TrainConfig:
    name: str = "v2"
    runs_dir: str = str(DEFAULT_RUNS)
    seed: int = 0
    crop: int = 128
    batch_size: int = 12
    samples_per_epoch: int = 24000
    val_samples: int = 192
    still_fraction: float = 0.4
    mismatched_reference: float = 0.0  # GuideConfig.mismatched_reference (0 keeps the v2 run's data)
    # REGIME=WEIGHT pairs for the hints on the trained frames (GuideConfig.hint_mix); regimes left
    # out weigh 0, and none given keeps GuideConfig's default mix (and older runs' data order)
    hint_mix: list[str] = field(default_factory=list)
    fetched_photos: bool = False  # also train on training.data.fetched's photos (prepared beforehand)
    fetched_clips: bool = False  # and on its clips
    # only the clips of these training.data.fetched.CLIP_SOURCES (empty: all of them)
    fetched_clip_sources: list[str] = field(default_factory=list)
    # the animated films among them (training.data.fetched.ClipSource.animated); runs v5 and v6
    # trained on them, later runs leave them out (--no-animated-clips)
    animated_clips: bool = True
    workers: int = 1
    max_steps: int = 40000
    max_minutes: float = 600.0
    lr: float = 1e-3
    encoder_lr_scale: float = 0.3
    weight_decay: float = 1e-4
    warmup_steps: int = 200
    grad_clip: float = 1.0
    ce_weight: float = 0.1  # weights of the two loss terms (CE ~ 3-5 nats, L1 ~ 0.05 in a*b*/110)
    l1_weight: float = 10.0
    soft_sigma: float = 5.0 / 110.0  # Zhang et al. 2016: soft-encode over 5 nearest bins, sigma 5
    rebalance_lambda: float = 0.5
    # weight of the flicker term (temporal_change_loss): frame t+1's change from t, against the
    # truth's change; 0 leaves it out (runs up to v10)
    temporal_weight: float = 0.0
    # whether the flicker term also covers samples with hints of their own. Their t and t+1 get
    # hints at independent positions, so the term fines every answer to a hint as flicker (runs
    # v11 to v13 did this, and their network alone answered 10 hints 0.2 dB less); off, the term
    # covers the other samples only
    temporal_on_hinted: bool = False
    # decode's attention gets a frame's own hints as a sparse reference where no graded
    # reference applies, as package 0.6.2's engine does (TemporalEngine hint_reference); off,
    # it gets the sample's reference only (runs up to v15)
    hints_as_reference: bool = False
    # the a*b* loss stops at the classifier (its median pull mutes the annealed mean's colour)
    classifier_from_ce_only: bool = False
    # "prelu" or "relu" for the state and the decoder (ColorMotionNet2); a fine-tune of a ReLU
    # checkpoint (run v2, v3) with "prelu" switches it (switch_to_prelu: the same function)
    activation: str = "prelu"
    # decode's coarse path (model_v2.CoarseContext); a fine-tune of a checkpoint without one
    # adds it (add_coarse_context: the same function at first)
    coarse_context: bool = False
    # encode's scene path (model_v2.SceneContext: a frozen pretrained MobileNetV2 at half size); a
    # fine-tune of a checkpoint without one adds it (add_scene_context: the same function at first)
    scene_context: bool = False
    threads: int = 2
    # bfloat16 autocast for the training step (oneDNN on AMX/AVX-512 BF16 CPUs): ~15 % faster
    # at 192 px, batch 8; on run v4's weights the loss moved by < 0.5 % and the gradient's
    # direction by a cosine of 0.98-0.99. Validation stays float32.
    bf16: bool = False
    # "cpu" or "cuda": where the network runs; the engine's guides (flow, fusion) stay numpy on
    # the CPU, one sample per thread
    device: str = "cpu"
    # a compact training subset (training.data.pack) instead of ../shared/data and the fetched
    # data, for a machine they cannot reach (a GPU machine receives ~64 MiB per call)
    pack: str = ""
    log_every: int = 20
    val_every: int = 500
    checkpoint_every: int = 100
    init_from: str = ""
    notes: dict = field(default_factory=dict)

    @property
    def run_dir(self) -> Path:
        return Path(self.runs_dir) / self.name


# ---------------------------------------------------------------- class rebalancing


def bin_prior(dataset, bins: torch.Tensor, samples: int = 600, sigma: float = 5.0 / 110.0) -> torch.Tensor:
    """Empirical a*b* bin distribution of the training data, Gaussian-smoothed (Zhang et al. 2016)."""
    counts = torch.zeros(bins.shape[0], dtype=torch.float64)
    rng = np.random.default_rng(12345)
    for index in rng.choice(len(dataset), size=min(samples, len(dataset)), replace=False):
        ab = dataset[int(index)]["ab"][:, :, ::4, ::4].permute(0, 2, 3, 1).reshape(-1, 2)
        nearest = torch.cdist(ab, bins).argmin(dim=1)
        counts += torch.bincount(nearest, minlength=bins.shape[0]).double()
    prior = counts / counts.sum()
    kernel = torch.exp(-(torch.cdist(bins.double(), bins.double()) ** 2) / (2 * sigma**2))
    smoothed = kernel @ prior
    return (smoothed / smoothed.sum()).float()


def rebalance_weights(prior: torch.Tensor, lam: float) -> torch.Tensor:
    weights = 1.0 / ((1.0 - lam) * prior + lam / prior.numel())
    return weights / (prior * weights).sum()  # E_prior[w] = 1


def prior_of_weights(weights: torch.Tensor, lam: float) -> torch.Tensor:
    """The prior that `rebalance_weights(prior, lam)` was made from (checkpoints keep the weights).

    w = c / ((1 - lam) p + lam / Q) for some c > 0; the bracket sums to 1 over the bins, so
    c = 1 / sum(1 / w), and p follows."""
    inverse = 1.0 / weights.double()
    mixed = inverse / inverse.sum()  # = (1 - lam) p + lam / Q
    prior = ((mixed - lam / weights.numel()) / (1.0 - lam)).clamp(min=0.0)
    return (prior / prior.sum()).float()


# ---------------------------------------------------------------- forward and loss


@functools.cache
def _guide_pool() -> ThreadPoolExecutor:
    """Threads for the per-sample numpy/OpenCV guide work (they release the GIL): serial, it
    would leave a GPU waiting; in order, so results do not depend on the pool."""
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="guides")


def frame_guides(batch: dict[str, torch.Tensor], i: int, chained: list[np.ndarray] | None) -> torch.Tensor:
    """The engine's guides [N,3,H,W] (on the CPU) for frame i of each sample (propagate.frame_guide)."""
    size = tuple(batch["gray"].shape[-2:])

    def guide(n: int) -> np.ndarray:
        carried = [batch["carried"][n, i].numpy()] + ([chained[n]] if chained else [])
        return propagate.frame_guide(size, carried, batch["hints"][n, i].numpy())

    return torch.from_numpy(np.stack(list(_guide_pool().map(guide, range(batch["gray"].shape[0])))))


def chained_outputs(
    batch: dict[str, torch.Tensor], ab_t: np.ndarray, guide_t: torch.Tensor
) -> list[np.ndarray]:
    """Each sample's frame-t output carried to t+1 with its guide's confidence (propagate.chain_output)."""
    gray = batch["gray"]

    def chain(m: int) -> np.ndarray:
        return propagate.chain_output(
            gray[m, 1, 0].numpy(), gray[m, 0, 0].numpy(), ab_t[m], guide_t[m].numpy()
        )

    return list(_guide_pool().map(chain, range(len(ab_t))))


def run_sample(
    model: ColorMotionNet2,
    batch: dict[str, torch.Tensor],
    detach_classifier: bool = False,
    hints_as_reference: bool = False,
):
    """The engine's computation for frames t, t+1 -> [(ab, logits) of t, (ab, logits) of t+1].

    Frame t starts a chain (no state; its guide is the carried reference and its hints); t+1
    blends t's state and also gets t's output carried to it (propagate.chain_output), detached:
    the engine hands it over as data, not as a path for gradients. With `hints_as_reference`,
    a frame with hints of its own and no graded reference attends to itself and its hints
    (`own_hints_reference`). `batch` is on the CPU; the network's inputs go to the model's device.
    """
    device = next(model.parameters()).device
    gray = batch["gray"]
    n = gray.shape[0]
    frames = torch.cat((gray[:, 0], gray[:, 1], batch["ref_gray"]), dim=0).to(device)
    current, key, s4, s2 = model.encode(frames)
    ref_key = key[2 * n :]
    ref_colour = pooled(premultiplied(batch["ref_guide"].to(device)), model.KEY_STRIDE)  # = model.reference's
    prev_feat, zero_flow, no_prev = model.zero_state(current[:n])
    guide_cpu = frame_guides(batch, 0, None)
    guide = guide_cpu.to(device)
    outputs = []
    for i, flow, has_prev in (
        (0, zero_flow, no_prev),
        (1, batch["flow"].to(device), torch.ones_like(no_prev)),
    ):
        frame = slice(i * n, (i + 1) * n)
        feat, _ = model.blend(current[frame], prev_feat, flow, has_prev)
        attended = (ref_key, ref_colour)
        if hints_as_reference:
            attended = own_hints_reference(model, batch, i, key[frame], ref_key, ref_colour)
        ab, logits = model.decode(
            feat,
            s4[frame],
            s2[frame],
            key[frame],
            guide,
            *attended,
            detach_classifier=detach_classifier,
        )
        outputs.append((ab, logits))
        if i == 0:
            chained = chained_outputs(batch, ab.detach().float().cpu().numpy(), guide_cpu)
            guide = frame_guides(batch, 1, chained).to(device)
        prev_feat = feat
    return outputs


def own_hints_reference(
    model: ColorMotionNet2,
    batch: dict[str, torch.Tensor],
    i: int,
    frame_key: torch.Tensor,
    ref_key: torch.Tensor,
    ref_colour: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(key, colour) decode attends to for frame i of each sample, as the engine chooses: the
    frame itself with its own hints where it has some and no graded reference applies (the
    `reference` graph of that frame: its own key, its hints pooled), else the sample's reference
    (a graded frame, hints keyed on r, or nothing)."""
    own = batch["hints"][:, i]
    use_own = ((own[:, 2] > 0).flatten(1).any(dim=1) & (batch["dense_reference"] == 0)).to(ref_key.device)
    own_colour = pooled(premultiplied(own.to(ref_key.device)), model.KEY_STRIDE)
    chosen = use_own[:, None, None, None]
    return torch.where(chosen, frame_key, ref_key), torch.where(chosen, own_colour, ref_colour)


def soft_targets(ab: torch.Tensor, bins: torch.Tensor, sigma: float, k: int = 5):
    """True a*b* [N,2,H,W] (already at the logits' size) -> soft labels [N,Q,H,W], nearest bin."""
    n, _, h, w = ab.shape
    points = ab.permute(0, 2, 3, 1).reshape(-1, 2)
    distances = torch.cdist(points, bins)  # [P, Q]
    near_d, near_i = distances.topk(k, dim=1, largest=False)
    weights = torch.softmax(-(near_d**2) / (2 * sigma**2), dim=1)
    labels = torch.zeros_like(distances).scatter_(1, near_i, weights)
    return labels.reshape(n, h, w, -1).permute(0, 3, 1, 2), near_i[:, 0].reshape(n, h, w)


def temporal_change_loss(
    ab: tuple[torch.Tensor, torch.Tensor],
    truth: tuple[torch.Tensor, torch.Tensor],
    flow: torch.Tensor,
    counted: torch.Tensor | None = None,
) -> torch.Tensor:
    """Flicker: how far the output's change from t to t+1 strays from the truth's change.

    ab, truth: a*b* [N,2,H,W] of t and t+1; flow: the batch's feature-grid backward flow
    t+1 -> t; counted: [N] 1 for the samples the term covers (default all), the mean is theirs.
    Both t's are warped to t+1 by the same (coarse) flow, so where it is wrong the
    truth's change absorbs the error; what is left is colour the model changes and the scene
    does not (Lai et al. 2018's short-term temporal loss, compensated by the truth).
    """
    height, width = ab[1].shape[-2:]
    scale = height / flow.shape[-2]
    pixel_flow = F.interpolate(flow, size=(height, width), mode="bilinear", align_corners=False) * scale
    change = ab[1] - warp(ab[0], pixel_flow)
    true_change = truth[1] - warp(truth[0], pixel_flow)
    per_sample = F.smooth_l1_loss(change, true_change, beta=0.02, reduction="none").mean(dim=(1, 2, 3))
    if counted is None:
        return per_sample.mean()
    counted = counted.to(per_sample)
    return (per_sample * counted).sum() / counted.sum().clamp(min=1.0)


def losses_of(model: ColorMotionNet2, batch, class_weights: torch.Tensor, config: TrainConfig) -> dict:
    outputs = run_sample(model, batch, config.classifier_from_ce_only, config.hints_as_reference)
    losses = {"ce": 0.0, "l1": 0.0}
    truths = []
    for i, (ab, logits) in enumerate(outputs):
        truth = batch["ab"][:, i].to(ab.device)
        truths.append(truth)
        labels, nearest = soft_targets(F.avg_pool2d(truth, 4), model.ab_bins, config.soft_sigma)
        per_pixel = -(labels * F.log_softmax(logits, dim=1)).sum(dim=1)
        losses["ce"] = losses["ce"] + (per_pixel * class_weights[nearest]).mean()
        losses["l1"] = losses["l1"] + F.smooth_l1_loss(ab, truth, beta=0.02)
    losses["total"] = config.ce_weight * losses["ce"] + config.l1_weight * losses["l1"]
    if config.temporal_weight > 0:
        flow = batch["flow"].to(truths[0].device)
        counted = None if config.temporal_on_hinted else 1.0 - batch["hinted"]
        losses["temporal"] = temporal_change_loss(
            (outputs[0][0], outputs[1][0]), tuple(truths), flow, counted
        )
        losses["total"] = losses["total"] + config.temporal_weight * losses["temporal"]
    return losses


@torch.no_grad()  # validation needs no autograd graph (it recorded one for every batch)
def validate(model: ColorMotionNet2, val_set, config: TrainConfig) -> dict[str, float]:
    """Mean squared a*b* error (in a*b*/110 units) of t+1, by what guided it."""
    model.eval()
    loader = DataLoader(val_set, batch_size=config.batch_size, num_workers=config.workers)
    sums: dict[str, list[float]] = {}
    for batch in loader:
        first_frames = batch["gray"][:, 0].to(config.device)
        current = model.encode(first_frames)[0]  # how alive: v2's ReLU left 0.02 % nonzero
        sums.setdefault("val_state_nonzero", []).append(float((current != 0).float().mean()))
        sums.setdefault("val_state_std", []).append(float(current.std()))
        (_, _), (ab, _) = run_sample(model, batch, hints_as_reference=config.hints_as_reference)
        error = ((ab.cpu() - batch["ab"][:, 1]) ** 2).mean(dim=(1, 2, 3))
        grey = (batch["ab"][:, 1] ** 2).mean(dim=(1, 2, 3))
        groups = {
            "auto": (batch["has_reference"] == 0) & (batch["hinted"] == 0),
            "reference": batch["has_reference"] == 1,
            "hinted": batch["hinted"] == 1,
            "all": torch.ones_like(batch["hinted"], dtype=torch.bool),
        }
        for name, chosen in groups.items():
            sums.setdefault(f"val_mse_{name}", []).extend(error[chosen].tolist())
            sums.setdefault(f"val_grey_{name}", []).extend(grey[chosen].tolist())
    model.train()
    return {key: float(np.mean(values)) if values else float("nan") for key, values in sums.items()}


# ---------------------------------------------------------------- model and checkpoints


def build_model(config: TrainConfig, sample_gray: torch.Tensor | None = None) -> ColorMotionNet2:
    """The network to train: fresh from MobileNetV2, or `init_from` a checkpoint (its ReLUs
    switched to PReLUs when asked, on `sample_gray` [N,1,H,W]: switch_to_prelu; the coarse
    and scene paths added when asked: add_coarse_context, add_scene_context)."""
    if config.init_from:
        model = load_checkpoint_model(config.init_from)
        if model.activation != config.activation:
            if config.activation != "prelu":
                raise ValueError(f"{config.init_from} has PReLU activations; they cannot go back to ReLUs")
            if sample_gray is None:
                raise ValueError("switching to PReLUs needs sample frames")
            switch_to_prelu(model, sample_gray)
            print("switched to PReLUs: the decoder's at slope 0, the state path afresh", file=sys.stderr)
        if config.coarse_context and model.coarse is None:
            model.add_coarse_context()
            print("added decode's coarse path (output layer at zero)", file=sys.stderr)
        if config.scene_context and model.scene is None:
            model.add_scene_context(_pretrained_backbone())
            print("added encode's scene path (projection at zero)", file=sys.stderr)
        return model.train()
    return ColorMotionNet2(
        _pretrained_backbone(),
        activation=config.activation,
        coarse=config.coarse_context,
        scene=config.scene_context,
    )


def _pretrained_backbone():
    if not TFLITE.is_file():
        raise FileNotFoundError(f"pretrained MobileNetV2 weights not found at {TFLITE}")
    return load_tflite_mobilenet_v2(TFLITE)


def load_checkpoint_model(path: str | Path) -> ColorMotionNet2:
    return model_of_checkpoint(torch.load(path, map_location="cpu", weights_only=False))


def model_of_checkpoint(state: dict) -> ColorMotionNet2:
    """The network a loaded checkpoint holds, with its colour prior, in eval mode."""
    # specs written before `activation` existed are of ReLU networks (run v2, v3)
    model = ColorMotionNet2(**{"activation": "relu", **state.get("model_spec", {})})
    model.load_state_dict(state["model"])
    if state.get("class_weights") is not None:
        lam = state.get("rebalance_lambda", TrainConfig.rebalance_lambda)
        model.set_colour_prior(prior_of_weights(state["class_weights"], lam))
    return model.eval()


def build_optimizer(model: ColorMotionNet2, config: TrainConfig) -> torch.optim.Optimizer:
    encoder = list(model.encoder.parameters())
    # PReLU slopes: no decay, which would pull them back to ReLUs
    slopes = [p for m in model.modules() if isinstance(m, nn.PReLU) for p in m.parameters()]
    special = {id(p) for p in encoder + slopes}
    # frozen weights (the scene path's pretrained trunk) stay out
    rest = [p for p in model.parameters() if id(p) not in special and p.requires_grad]
    scaled = config.lr * config.encoder_lr_scale
    groups = [
        {"params": encoder, "lr": scaled, "base_lr": scaled},
        {"params": rest, "lr": config.lr, "base_lr": config.lr},
    ]
    if slopes:  # only PReLU networks: a ReLU run's optimizer state keeps its two groups
        groups.append({"params": slopes, "lr": config.lr, "base_lr": config.lr, "weight_decay": 0.0})
    return torch.optim.AdamW(groups, weight_decay=config.weight_decay)


def save_checkpoint(
    path: Path, model, optimizer, class_weights, rebalance_lambda: float, progress: dict
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(
        {
            "model": model.state_dict(),
            "model_spec": model.spec(),
            "optimizer": optimizer.state_dict() if optimizer is not None else None,
            "class_weights": class_weights,
            "rebalance_lambda": rebalance_lambda,
            **progress,
        },
        tmp,
    )
    tmp.replace(path)


# ---------------------------------------------------------------- loop


def cpu_has_native_bf16() -> bool:
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def check_config(config: TrainConfig) -> None:
    """Refuse settings that would waste a run, before minutes of data loading."""
    guide_config(config)
    if config.bf16 and config.device == "cpu" and not cpu_has_native_bf16():
        # seen on an AVX2-only EPYC: no step logged in 6 minutes, against ~2 s per step in float32
        raise ValueError(
            "--bf16: this CPU has no native bfloat16 (AVX-512 BF16 or AMX), so autocast would "
            "emulate it, many times slower than float32; drop --bf16"
        )


def guide_config(config: TrainConfig):
    """The data's GuideConfig: the run's hint mix, when it names one, and its share of
    mismatched references."""
    from training.data.sequences import GuideConfig

    options = {"mismatched_reference": config.mismatched_reference}
    if config.hint_mix:
        options["hint_mix"] = parse_mix(config.hint_mix)
    guide = GuideConfig(**options)
    guide.hint_weights()  # an unknown regime or a bad weight is refused before the run starts
    return guide


def parse_mix(pairs: list[str]) -> dict[str, float]:
    """{"points": 0.45, ...} from ["points=0.45", ...]."""
    mix = {}
    for pair in pairs:
        name, _, weight = pair.partition("=")
        try:
            value = float(weight)
        except ValueError:
            raise ValueError(f"--hint-mix: {pair!r} is not REGIME=WEIGHT, e.g. points=0.45") from None
        if name in mix:
            raise ValueError(f"--hint-mix names {name!r} twice")
        mix[name] = value
    return mix


def train(config: TrainConfig) -> Path:
    from training.data.sequences import build_datasets, describe

    check_config(config)
    torch.set_num_threads(config.threads)
    seed_everything(config.seed)
    run_dir = config.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    log = RunLog(run_dir / "log.jsonl")
    (run_dir / "config.json").write_text(json.dumps(dataclasses.asdict(config), indent=1))

    train_set, val_set = build_datasets(
        crop=config.crop,
        seed=config.seed,
        samples_per_epoch=config.samples_per_epoch,
        val_samples=config.val_samples,
        still_fraction=config.still_fraction,
        config=guide_config(config),
        fetched_photos=config.fetched_photos,
        fetched_clips=config.fetched_clips,
        fetched_clip_sources=config.fetched_clip_sources,
        pack=config.pack or None,
        animated_clips=config.animated_clips,
    )
    sample_gray = torch.stack([train_set[i]["gray"][0] for i in range(16)])
    device = torch.device(config.device)
    # NHWC: oneDNN's CPU convolutions (depthwise ones most) run a training step ~20 % faster;
    # the values and the checkpoints' state dicts are the same
    model = build_model(config, sample_gray).train().to(device, memory_format=torch.channels_last)
    optimizer = build_optimizer(model, config)
    progress = {"step": 0, "epoch": 0, "batch_in_epoch": 0, "elapsed_s": 0.0}
    last = run_dir / "last.pt"
    if last.is_file():
        state = torch.load(last, map_location="cpu", weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        class_weights = state["class_weights"]
        progress = {key: state[key] for key in progress}
        print(f"resumed {last} at step {progress['step']}", file=sys.stderr)
    else:
        prior = bin_prior(train_set, model.ab_bins.cpu(), sigma=config.soft_sigma)
        class_weights = rebalance_weights(prior, config.rebalance_lambda)
        if not config.init_from:
            with torch.no_grad():  # start from the data's colour prior instead of a uniform guess
                model.to_logits.bias.copy_(prior.clamp(min=1e-6).log())
    class_weights = class_weights.to(device)
    log.write(
        {
            "event": "start",
            "step": progress["step"],
            "params": sum(p.numel() for p in model.parameters()),
            "data": {"train": describe(train_set), "val": describe(val_set)},
            "config": dataclasses.asdict(config),
        }
    )
    started, elapsed_before = time.perf_counter(), progress["elapsed_s"]
    step, epoch, batch_in_epoch = progress["step"], progress["epoch"], progress["batch_in_epoch"]

    def elapsed() -> float:
        return elapsed_before + time.perf_counter() - started

    def checkpoint(path: Path = last, with_optimizer: bool = True) -> None:
        save_checkpoint(
            path,
            model,
            optimizer if with_optimizer else None,
            class_weights,
            config.rebalance_lambda,
            {"step": step, "epoch": epoch, "batch_in_epoch": batch_in_epoch, "elapsed_s": elapsed()},
        )

    window: dict[str, float] = {}
    window_start = time.perf_counter()
    done = False
    while not done:
        for batch in epoch_loader(train_set, config, epoch, batch_in_epoch):
            for group in optimizer.param_groups:
                group["lr"] = group["base_lr"] * lr_factor(step, elapsed(), config)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=config.bf16):
                losses = losses_of(model, batch, class_weights, config)
            optimizer.zero_grad(set_to_none=True)
            losses["total"].backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            step += 1
            batch_in_epoch += 1
            for key, value in losses.items():
                window[key] = window.get(key, 0.0) + float(value.detach())
            if step % config.log_every == 0:
                seconds = time.perf_counter() - window_start
                means = {key: value / config.log_every for key, value in window.items()}
                samples_per_s = config.log_every * config.batch_size / seconds
                log.write(
                    {
                        "event": "train",
                        "step": step,
                        "epoch": epoch,
                        "elapsed_s": elapsed(),
                        "lr": optimizer.param_groups[1]["lr"],
                        "samples_per_s": samples_per_s,
                        **means,
                    }
                )
                print(
                    f"step {step:6d}  loss {means['total']:.4f} (ce {means['ce']:.3f} l1 {means['l1']:.4f})"
                    f"  {samples_per_s:.1f} samples/s  {elapsed() / 60:.1f} min",
                    flush=True,
                )
                window, window_start = {}, time.perf_counter()
            if step % config.checkpoint_every == 0:
                checkpoint()
            if step % config.val_every == 0:
                log.write(
                    {"event": "val", "step": step, "elapsed_s": elapsed(), **validate(model, val_set, config)}
                )
                checkpoint(run_dir / f"step{step:06d}.pt", with_optimizer=False)
            if step >= config.max_steps or elapsed() >= config.max_minutes * 60:
                done = True
                break
        else:
            epoch, batch_in_epoch = epoch + 1, 0

    checkpoint()
    log.write({"event": "end", "step": step, "elapsed_s": elapsed(), **validate(model, val_set, config)})
    final = run_dir / "final.pt"
    checkpoint(final, with_optimizer=False)
    print(f"done: step {step}, {elapsed() / 60:.1f} min", flush=True)
    return final


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    return config_from_args(TrainConfig, argv, __doc__)


if __name__ == "__main__":
    train(parse_args())

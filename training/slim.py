"""A trained contract-2 checkpoint with a slimmer decoder: channel pruning, before a fine-tune.

    python -m training.slim RUNS/soups/shipped-current.pt --widths 48 32 16 --out RUNS/soups/v18-slim.pt
    python -m training.train_v2 --name v18 --init-from RUNS/soups/v18-slim.pt ...

`decode` runs once per output frame and is the largest graph's time at 256x256: widths
(d8, d4, d2) = (48, 32, 16) instead of (64, 48, 24) take it from 17.8 to 13.6 ms on one thread
(onnxruntime's profile, one sitting); a 256x256 render in order gains about a tenth of its
frame rate (colormotion bench --compare, stop 28). The pruned network starts where its parent
was, minus the channels that passed on least, and a fine-tune recovers what they did.

Which channels stay: the monograph pruned by APoZ, the share of a channel's outputs that its
ReLU sets to zero. The decoder's activations are PReLUs (since 2.2), which zero nothing, so each
channel is measured directly instead: how far the colours move (mean |a*b* change| over
training photos, automatic, with ten hints and with a reference, as training mixes them) when
that channel alone is removed. The three groups pruned:

* d8, the stride-8 residual stream: at8's convolutions (in and out), the coarse path's output
  and at4's depthwise and pointwise on it;
* d4, at4's output: read by the classifier (to_logits) and at2;
* d2, at2's output: read by the residual-and-gate convolution.

The encoder, the state and the contract's tensors are left alone: only decode's graph changes.
Kept channels stay in their order, so asking for the parent's own widths gives the parent.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from training.model_v2 import ColorMotionNet2
from training.train_v2 import TrainConfig, model_of_checkpoint, save_checkpoint

GROUPS = ("d8", "d4", "d2")


def coupled(net: ColorMotionNet2) -> dict[str, dict[str, tuple[int, ...]]]:
    """For each group, every decoder parameter that holds its channels and in which dims: 0 for
    the channels a layer produces (or a depthwise layer's own), 1 for those it reads. A reader
    takes the group's channels first, then whatever is concatenated after them."""
    groups = {
        "d8": {  # the stride-8 residual stream: at8, the coarse path, read by at4
            "at8.0.0.weight": (0,),
            "at8.0.0.bias": (0,),
            "at8.0.1.weight": (0,),
            "coarse.out.weight": (0,),
            "coarse.out.bias": (0,),
            "at4.0.weight": (0,),
            "at4.0.bias": (0,),
            "at4.1.weight": (1,),
        },
        "d4": {  # at4's output, read by the classifier and at2
            "at4.1.weight": (0,),
            "at4.1.bias": (0,),
            "at4.2.weight": (0,),
            "to_logits.weight": (1,),
            "at2.0.weight": (0,),
            "at2.0.bias": (0,),
            "at2.1.weight": (1,),
        },
        "d2": {  # at2's output, read by the residual-and-gate convolution
            "at2.1.weight": (0,),
            "at2.1.bias": (0,),
            "at2.2.weight": (0,),
            "to_residual.weight": (1,),
            "to_gate.weight": (1,),
        },
    }
    for block in range(1, len(net.at8)):
        groups["d8"][f"at8.{block}.conv.0.weight"] = (0, 1)
        groups["d8"][f"at8.{block}.conv.0.bias"] = (0,)
        groups["d8"][f"at8.{block}.conv.1.weight"] = (0,)
    present = net.state_dict().keys()  # the coarse path is optional
    return {
        group: {name: dims for name, dims in params.items() if name in present}
        for group, params in groups.items()
    }


def channel_slices(net: ColorMotionNet2, group: str, channel: int) -> list[torch.Tensor]:
    """Views of every slice of the decoder's parameters that holds `channel` of `group`: zeroing
    them removes the channel from what the decoder computes (its readers' alone would do)."""
    parameters = dict(net.named_parameters())
    return [
        parameters[name].select(dim, channel) for name, dims in coupled(net)[group].items() for dim in dims
    ]


@torch.no_grad()
def channel_scores(
    net: ColorMotionNet2, frames: list[tuple[torch.Tensor, torch.Tensor]]
) -> dict[str, torch.Tensor]:
    """How much each channel moves the colours: the mean |a*b* change| of the decoder's output
    when that channel alone is removed (`channel_slices` zeroed), over `frames` (L*/100
    [1,1,H,W], true a*b*/110 [1,2,H,W]) decoded as training mixes them, in turn: automatic,
    with ten hints of the true colour (the frame attending to itself and its hints, as the
    engine does) and with a reference (the true colour, a third of it lost as flow loses it)."""
    net = net.eval()
    generator = torch.Generator().manual_seed(0)
    cases = []
    for index, (gray, ab) in enumerate(frames):
        current, key, skip4, skip2 = net.encode(gray)
        feat = net.blend(current, *net.zero_state(current))[0]
        kind = index % 3
        if kind == 0:
            guide = torch.zeros(1, 3, *gray.shape[2:])
            reference = (torch.zeros(1, key.shape[1], 1, 1), torch.zeros(1, 3, 1, 1))
        else:
            guide = _hints(ab, generator) if kind == 1 else _carried(ab, generator)
            source = guide if kind == 1 else torch.cat((ab, torch.ones_like(ab[:, :1])), dim=1)
            reference = net.reference(gray, source)
        inputs = (feat, skip4, skip2, key, guide, *reference)
        cases.append((inputs, net.decode(*inputs)[0]))
    scores = {}
    for group, count in zip(GROUPS, net.spec()["widths"]):
        changes = torch.zeros(count)
        for channel in range(count):
            slices = channel_slices(net, group, channel)
            saved = [piece.clone() for piece in slices]
            for piece in slices:
                piece.zero_()
            changes[channel] = sum(float((net.decode(*inputs)[0] - ab).abs().mean()) for inputs, ab in cases)
            for piece, value in zip(slices, saved):
                piece.copy_(value)
        scores[group] = changes / len(cases)
    return scores


def _hints(ab: torch.Tensor, generator: torch.Generator, count: int = 10) -> torch.Tensor:
    """A guide [1,3,H,W] of ten 5x5 patches of the true colour (their mean), confidence 1."""
    _, _, height, width = ab.shape
    guide = torch.zeros(1, 3, height, width)
    for _ in range(count):
        y = int(torch.randint(0, height - 5, (1,), generator=generator))
        x = int(torch.randint(0, width - 5, (1,), generator=generator))
        guide[0, :2, y : y + 5, x : x + 5] = ab[0, :, y : y + 5, x : x + 5].mean(dim=(1, 2), keepdim=True)
        guide[0, 2, y : y + 5, x : x + 5] = 1.0
    return guide


def _carried(ab: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A dense guide [1,3,H,W] of the true colour with a block (a third of the frame) lost."""
    _, _, height, width = ab.shape
    confidence = torch.ones(1, 1, height, width)
    lost_h, lost_w = height * 2 // 3, width // 2
    y = int(torch.randint(0, height - lost_h + 1, (1,), generator=generator))
    x = int(torch.randint(0, width - lost_w + 1, (1,), generator=generator))
    confidence[..., y : y + lost_h, x : x + lost_w] = 0.0
    return torch.cat((ab * confidence, confidence), dim=1)


def kept_channels(scores: torch.Tensor, count: int) -> torch.Tensor:
    """The `count` best-scoring channels, in their original order."""
    if not 1 <= count <= scores.numel():
        raise ValueError(f"cannot keep {count} of {scores.numel()} channels")
    return torch.sort(torch.topk(scores, count).indices).values


def sliced_state(net: ColorMotionNet2, keep: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The parent's state dict with the decoder's weights cut to the kept channels."""
    state = {name: tensor.clone() for name, tensor in net.state_dict().items()}
    couplings = coupled(net)
    for group, width in zip(GROUPS, net.spec()["widths"]):
        for name, dims in couplings[group].items():
            for dim in dims:  # the kept channels, then what follows the group's in that dim
                size = state[name].shape[dim]
                index = torch.cat((keep[group], torch.arange(width, size)))
                state[name] = state[name].index_select(dim, index).contiguous()
    return state


def slim(
    net: ColorMotionNet2, widths: tuple[int, int, int], scores: dict[str, torch.Tensor]
) -> ColorMotionNet2:
    """`net` with decoder widths `widths` (d8, d4, d2), keeping the best-scoring channels."""
    keep = {name: kept_channels(scores[name], count) for name, count in zip(GROUPS, widths)}
    spec = {**net.spec(), "widths": tuple(widths)}
    slimmer = ColorMotionNet2(**spec)
    slimmer.load_state_dict(sliced_state(net, keep))  # strict: every shape must fit
    slimmer.log_prior.copy_(net.log_prior)
    return slimmer.eval()


def training_frames(count: int, size: int = 192, seed: int = 0) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """(L*/100 [1,1,size,size], a*b*/110 [1,2,size,size]) of `count` seeded training photos
    (never the held-out split)."""
    from training import evaluate
    from training.data import DATA_ROOT, split

    paths = split.train_photos(DATA_ROOT)
    picks = np.random.default_rng(seed).choice(len(paths), size=min(count, len(paths)), replace=False)
    frames = []
    for index in picks:
        frame = evaluate.prepare(evaluate.load_photo_square(DATA_ROOT / paths[index], size), size)
        frames.append((torch.from_numpy(frame.gray)[None, None], torch.from_numpy(frame.ab_true)[None]))
    return frames


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("checkpoint", type=Path, help="the parent (a contract-2 training checkpoint)")
    parser.add_argument(
        "--widths", type=int, nargs=3, required=True, metavar=("D8", "D4", "D2"), help="decoder widths"
    )
    parser.add_argument("--photos", type=int, default=64, help="training photos to score channels on")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    if args.out.exists():
        parser.error(f"{args.out} exists; not overwriting it")
    parent_state = torch.load(args.checkpoint, map_location="cpu", weights_only=False)
    parent = model_of_checkpoint(parent_state)
    widths = tuple(parent.spec()["widths"])
    if any(new > old for new, old in zip(args.widths, widths)):
        parser.error(f"--widths {' '.join(map(str, args.widths))} is wider than the parent's {widths}")
    slimmer = slim(parent, tuple(args.widths), channel_scores(parent, training_frames(args.photos)))
    lam = parent_state.get("rebalance_lambda", TrainConfig.rebalance_lambda)
    save_checkpoint(
        args.out,
        slimmer,
        None,
        parent_state.get("class_weights"),
        lam,
        {"slimmed_from": str(args.checkpoint)},
    )
    print(f"wrote {args.out}: {args.checkpoint}'s decoder at widths {tuple(args.widths)} (was {widths})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

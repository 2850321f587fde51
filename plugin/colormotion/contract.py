"""The ONNX "step" model contract shared by the engine and ``training/export.py``.

One graph runs one frame of the temporal recurrence:

inputs
    gray      [N,1,H,W]       L* / 100                     (H, W multiples of 32)
    hints     [N,3,H,W]       a*/110, b*/110, mask 0/1     (hint colours at hinted pixels, else 0)
    prev_feat [N,C,H/s,W/s]   blended features of the previous frame (zeros when has_prev = 0)
    flow      [N,2,H/s,W/s]   backward flow from this frame to the previous one, (dx, dy) in
                              feature-grid pixels: feature (x, y) of this frame sits at
                              (x + dx, y + dy) in the previous frame
    has_prev  [N,1,1,1]       0 at a clip or scene start, else 1
outputs
    ab        [N,2,H,W]       a*/110, b*/110
    feat      [N,C,H/s,W/s]   blended features to pass to the next frame
    mask      [N,1,H/s,W/s]   blend mask (1 = keep the warped previous features)

C and s are stored in the model's metadata_props under the keys below.
"""

INPUT_NAMES = ("gray", "hints", "prev_feat", "flow", "has_prev")
OUTPUT_NAMES = ("ab", "feat", "mask")

L_SCALE = 100.0  # gray = L* / L_SCALE
AB_SCALE = 110.0  # ab = a*b* / AB_SCALE
SIZE_MULTIPLE = 32  # H and W given to the model must be multiples of this

META_FEATURE_CHANNELS = "colormotion.feature_channels"  # C
META_FEATURE_STRIDE = "colormotion.feature_stride"  # s
META_VERSION = "colormotion.model_version"
META_CONTRACT = "colormotion.contract"
CONTRACT_VERSION = "1"
OPSET = 17


# ---------------------------------------------------------------------------------------------
# Contract 2: the step split into graphs, each run only where it is needed (a model folder of
# four ONNX files, written by training/export_v2.py). Colour guides: [N,3,H,W] a*/110, b*/110 and
# a confidence in 0..1 (colormotion.temporal.propagate).
#
# encode     once per frame: L* only, so editing hints never re-runs it
#     gray [N,1,H,W] -> current [N,C,H/s,W/s], key [N,K,H/k,W/k], skip4 [N,S4,H/4,W/4], skip2 [N,S2,H/2,W/2]
# reference  once per reference frame
#     gray, guide -> ref_key [N,K,H/k,W/k], ref_colour [N,3,H/k,W/k] (guide premultiplied, pooled)
# blend      the state: previous features warped by flow, mixed with the current ones
#     current, prev_feat, flow, has_prev -> feat, mask            (flow, has_prev as in contract 1)
# decode     only for frames that are output
#     feat, skip4, skip2, key, guide, ref_key, ref_colour, vividness -> ab [N,2,H,W]
# (K, k: key channels and stride, in the metadata below. A frame without a reference gets a
# ref_colour of zeros: confidence 0 everywhere. vividness [N,1,1,1], >= 0: 0 gives the colours
# as trained; more favours rarer, more saturated colours where the network is unsure.)

CONTRACT_2 = "2"
GRAPHS_2 = {
    "encode": (("gray",), ("current", "key", "skip4", "skip2")),
    "reference": (("gray", "guide"), ("ref_key", "ref_colour")),
    "blend": (("current", "prev_feat", "flow", "has_prev"), ("feat", "mask")),
    "decode": (("feat", "skip4", "skip2", "key", "guide", "ref_key", "ref_colour", "vividness"), ("ab",)),
}
# decode graphs exported before vividness (models 2.0) lack that input: they run at vividness 0
DECODE_INPUTS_WITHOUT_VIVIDNESS = GRAPHS_2["decode"][0][:-1]
MAX_VIVIDNESS = 2.0  # past ~1 the automatic colour turns garish (training/evaluate.py --vividness)
# The engine's hint spread (temporal.propagate.spread_guide) reaches up to this many times its
# default; here, beside vividness, because the node's parameter shares the range without
# importing the engine.
MAX_HINT_SPREAD = 4.0
META_KEY_CHANNELS = "colormotion.key_channels"  # K
META_KEY_STRIDE = "colormotion.key_stride"  # k
# Optional, per graph: GFLOPs of its convolutions per megapixel of frame, counted at 256x256 (for
# `colormotion bench`; decode's attention, 4 x positions^2 x K at stride k, is counted apart).
META_GFLOPS_PER_MEGAPIXEL = "colormotion.gflops_per_megapixel"


def graph_file(model_folder, graph: str):
    """The ONNX file of one contract-2 graph in a model folder."""
    from pathlib import Path

    if graph not in GRAPHS_2:
        raise ValueError(f"unknown graph {graph!r}; contract 2 has {', '.join(GRAPHS_2)}")
    return Path(model_folder) / f"{graph}.onnx"

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

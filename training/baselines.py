"""Training-free reference propagation: the bar the network must clear (issue "colour that
follows the user").

Each frame t takes colour from the reference frame r directly and from frame t-1's result, both
carried by DIS flow with the forward-backward occlusion check (`colormotion.temporal.propagate`,
the very functions the engine feeds the network with), fused by confidence; what neither can
reach is filled by a guided filter on L* (normalised convolution: the filtered premultiplied
colour over the filtered confidence).
"""

from __future__ import annotations

import cv2
import numpy as np
from colormotion.temporal import propagate

FILL_RADIUS = 16  # px at working resolution
FILL_EPS = 1e-3  # guided filter regularisation on L*/100
MIN_FILL_WEIGHT = 0.05  # filtered confidence below which a hole is left grey


def fill_holes(gray: np.ndarray, guide: np.ndarray) -> np.ndarray:
    """a*b* [2, H, W]: the guide's colour, holes filled edge-aware from confident neighbours."""
    confidence = guide[2]
    guide_image = gray.astype(np.float32)
    smooth = [
        cv2.ximgproc.guidedFilter(
            guide_image, (channel * confidence).astype(np.float32), FILL_RADIUS, FILL_EPS
        )
        for channel in guide[:2]
    ]
    weight = cv2.ximgproc.guidedFilter(guide_image, confidence.astype(np.float32), FILL_RADIUS, FILL_EPS)
    # the guided filter is not a positive operator: where almost nothing confident is near, its
    # ratio is noise, so those pixels stay grey; colours stay in the a*b* range
    reached = weight > MIN_FILL_WEIGHT
    filled = np.where(reached, np.stack(smooth) / np.where(reached, weight, 1.0), 0.0)
    ab = confidence * guide[:2] + (1.0 - confidence) * np.clip(filled, -1.0, 1.0)
    return ab.astype(np.float32)


def propagate_reference(grays: list[np.ndarray], reference_ab: np.ndarray) -> list[np.ndarray]:
    """a*b*/110 [2, H, W] of every frame of a shot whose frame 0 is the reference `reference_ab`."""
    ones = np.ones((1, *reference_ab.shape[1:]), np.float32)
    reference_guide = np.concatenate([reference_ab, ones]).astype(np.float32)
    outputs = [reference_ab.astype(np.float32)]
    previous_guide = reference_guide
    for t in range(1, len(grays)):
        direct = propagate.carry(grays[t], grays[0], reference_guide)
        chained = propagate.carry(grays[t], grays[t - 1], previous_guide)
        fused = propagate.fuse([direct, chained])
        ab = fill_holes(grays[t], fused)
        outputs.append(ab)
        previous_guide = np.concatenate([ab, fused[2:]])
    return outputs

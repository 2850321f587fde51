"""ColorMotion: automatic, temporally stable video colorization.

A frame's path: a host adapter (OpenFX bridge, command line) asks the
:class:`colormotion.node.ColorizeNode` for frame ``t``; the node asks the
temporal engine (:mod:`colormotion.temporal`) which runs the ONNX step model
(:mod:`colormotion.model`) over a short chain of frames, and the colour
pipeline (:mod:`colormotion.colour`) turns its a*b* into the output frame.
"""

__version__ = "0.6.3"

# Rez package definition: `rez build --install` copies the package into the studio repository,
# `rez env colormotion` then gives Python, Resolve/Natron (OFX) and Nuke everything they need.
name = "colormotion"

version = "0.6.3"

description = "Automatic, temporally stable video colorization: Colorize node (OpenFX, Nuke) and CLI."

authors = ["ColorMotion"]

requires = [
    "python-3.9+<3.14",
    "numpy-1.24+",
    "opencv-4.8+",
    "onnxruntime-1.17+",
    "openimageio-2.5+",
    "av-12+",
]

# Pure Python plus a prebuilt OpenFX bundle: the build step only copies files into place.
build_command = "python {root}/ofx_bridge/rez_build.py {root} {install}"

tools = ["colormotion"]


def commands():
    env.PYTHONPATH.prepend("{root}/plugin")  # noqa: F821 (Rez injects `env`)
    env.PATH.prepend("{root}/bin")  # noqa: F821
    env.COLORMOTION_MODEL_DIR.set("{root}/models")  # noqa: F821
    env.OFX_PLUGIN_PATH.prepend("{root}/ofx")  # noqa: F821  holds ColorMotion.ofx.bundle
    env.NUKE_PATH.prepend("{root}/nuke")  # noqa: F821  menu.py registers the node in Nuke

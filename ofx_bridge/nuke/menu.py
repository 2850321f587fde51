"""Nuke start-up: put the ColorMotion Colorize node in the Nodes menu.

Nuke loads the OpenFX bundle itself from OFX_PLUGIN_PATH (the Rez package sets it); Nuke names
an OpenFX node "OFX" + plug-in identifier + "_v" + major version.
"""

import nuke  # noqa: F401  (only importable inside Nuke)

COLORIZE_NODE = "OFXorg.colormotion.Colorize_v1"

nuke.menu("Nodes").addCommand("ColorMotion/Colorize", f"nuke.createNode('{COLORIZE_NODE}')")

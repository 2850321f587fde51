"""Nuke start-up: the ColorMotion menu (Colorize node, Edit hints panel).

Nuke loads the OpenFX bundle itself from OFX_PLUGIN_PATH (the Rez package sets it) and this
folder from NUKE_PATH; the commands live in colormotion_nuke.py.
"""

import colormotion_nuke
import nuke

colormotion_nuke.install(nuke)

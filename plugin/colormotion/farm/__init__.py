"""Rendering one job on many machines: chunk plans, render-manager job files, the Ray driver.

An adapter like the OpenFX bridge and the CLI: it only splits work into `colorize --frames A-B`
runs, whose frames equal a single render's, and joins what they write.
"""

"""ColorMotion's OpenFX bridge, Python side.

The C loader (ofx_bridge/src/loader.c) starts Python and calls
:func:`colormotion_ofx.entry.bootstrap`; every OpenFX action then goes through
:func:`colormotion_ofx.entry.dispatch`. Modules:

- ``ofx_api``: the OpenFX declarations (cffi) and constants, generated from the official OpenFX headers (``ofx_bridge/openfx``)
- ``host``: thin wrappers over the host's suites (properties, parameters, clips, messages)
- ``describe``: the plug-in and parameter descriptions, generated from ``PARAM_SPECS``
- ``images``: OpenFX pixel buffers <-> numpy arrays
- ``adapters``: the node's FrameSource and ParamSource over a host instance
- ``actions``: one function per OpenFX action
- ``entry``: bootstrap, dispatch, error containment
"""

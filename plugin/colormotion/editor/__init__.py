"""The hint editor and live view (Qt, through qtpy): an adapter like the CLI and the OpenFX bridge.

`document` and `preview` hold no Qt (the Nuke panel and the tests share them); `window` and
`live` are the Qt windows. The CLI and the plug-in never import this package's Qt modules.
"""

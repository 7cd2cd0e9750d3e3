"""Back ends: lowerings of a checked `Network` to PyTorch modules, Python source and drawings."""

"""Limits that keep an absurd spec from eating the machine: checked before anything is allocated."""

MAX_SOURCE_BYTES = 4 * 1024 * 1024   # one .res file
MAX_REPEATS = 100_000                # blocks in one stage row / iterations of one `for`
MAX_NODES = 1_000_000                # ops in one network
MAX_CHANNELS = 1 << 20               # width of any tensor
MAX_SPATIAL = 1 << 16                # height or width of any map
MAX_ELEMENTS = 1 << 40               # elements of one activation
MAX_CALL_DEPTH = 64                  # nested block calls (catches runaway recursion)
MAX_IMPORT_DEPTH = 32
MAX_EVAL_STEPS = 1_000_000           # comprehension items and function calls in one expression

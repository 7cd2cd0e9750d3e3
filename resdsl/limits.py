"""Limits that keep an absurd spec from eating the machine: checked before anything is allocated.

They are sized so that anything inside all of them checks in about two seconds and well under 200 MB on a
laptop core (the fuzz battery in bench/fuzz.py holds us to that); the largest real network we ship
(ResNet-1202) uses a few per cent of each.  `resdsl.elaborate.work` enforces the evaluation ones.
"""

MAX_SOURCE_BYTES = 256 * 1024         # one .res file (the largest we ship is under 8 KiB; lark parses ~10k tokens/s)
MAX_REPEATS = 100_000                # blocks in one stage row / iterations of one `for`
MAX_NODES = 100_000                  # ops in one network (ResNet-1202 has about 4,000)
MAX_CHANNELS = 1 << 20               # width of any tensor
MAX_SPATIAL = 1 << 16                # height or width of any map
MAX_ELEMENTS = 1 << 40               # elements of one activation
MAX_CALL_DEPTH = 64                  # nested block calls (catches runaway recursion)
MAX_IMPORT_DEPTH = 32
MAX_EVAL_STEPS = 1_000_000           # comprehension items and function calls in one expression
MAX_IMPORT_NAME = 1024               # characters in one import path

# The work budget of one elaboration (resdsl/elaborate/work.py).
# A network of MAX_NODES ops built of distinct block calls takes ~3 steps per op (bench_all's distinct spec:
# 26 steps per 9-op block), so the step limit admits that; a step costs 2-7 us here, so at most ~2 s.
MAX_STEPS = 300_000                  # evaluation steps: statements, loop iterations, calls, expression terms
MAX_INT_DIGITS = 100                 # digits of any whole number, written or computed
MAX_VALUE_ITEMS = 100_000            # characters of a string, items of a list or map (nested ones included)
MAX_NESTING = 100                    # syntax levels: braces, brackets, calls and operators inside one another

# One `resdsl table` run: all its rows together (each row is also held to the network limits above).
# The shipped tables use at most 39,000 steps and 14,000 ops (the DenseNet table): two networks' worth.
MAX_TABLE_STEPS = 600_000
MAX_TABLE_NODES = 200_000

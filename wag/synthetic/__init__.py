"""The synthetic world: a generator with known concept frequencies, tiny open_clip models, experiments.

Importing this package sets ``OMP_WAIT_POLICY=PASSIVE`` unless already set: with shared CPU cores,
torch's default busy-waiting OpenMP threads slow training 2–10× (measured in the feasibility run, docs/synthetic.md).
"""

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

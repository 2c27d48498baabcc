#!/usr/bin/env python3
"""Writes the ModelIO test fixtures with NumPy and the `safetensors` package, so that the
readers are proven against files MoEKit did not write. Run from the repository root:

    pip install numpy safetensors && python3 scripts/make-fixtures.py

The values are small integers divided by 8 (exact in every float format), so the tests
can check them element by element.
"""
import numpy as np
from safetensors.numpy import save_file

out = "Tests/ModelIOTests/Fixtures"
base = np.arange(-6, 6, dtype=np.float64).reshape(3, 4) / 8
save_file(
    {
        "f16": base.astype(np.float16),
        "f32": base.astype(np.float32),
        "f64": base,
        "i32": np.arange(5, dtype=np.int32),
        "i64": np.arange(-2, 4, dtype=np.int64).reshape(2, 3),
        "vector": base[0].astype(np.float32),
    },
    f"{out}/numpy-written.safetensors",
    metadata={"format": "np", "writer": "safetensors.numpy"},
)
np.save(f"{out}/float32.npy", base.astype(np.float32))
np.save(f"{out}/float64-vector.npy", base[1])
np.save(f"{out}/int64.npy", np.arange(-2, 4, dtype=np.int64).reshape(2, 3))

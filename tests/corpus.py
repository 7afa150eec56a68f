"""Where Globus's public example flows live: ``../shared/flows-corpus`` beside the clone.

``GLADIER_FLOWS_CORPUS`` overrides the location.
"""

import os
import pathlib

CORPUS = pathlib.Path(
    os.environ.get(
        "GLADIER_FLOWS_CORPUS",
        pathlib.Path(__file__).resolve().parents[2] / "shared" / "flows-corpus",
    )
)

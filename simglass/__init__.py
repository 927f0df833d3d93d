"""simglass: spinless fermions with random infinite-range interactions (Müller, Strack,
Sachdev, PRA 86, 023604 (2012), Eq. 7) -- direct simulation against mean-field theory.

Conventions: see docs/conventions.md (the model, signs and units of docs/conventions.md).
"""

__version__ = "0.1.0"

from .lattice import Lattice  # noqa: E402
from .disorder import Disorder, sample_disorder  # noqa: E402
from .model import Model, particle_number  # noqa: E402

__all__ = ["Lattice", "Model", "Disorder", "sample_disorder", "particle_number", "__version__"]

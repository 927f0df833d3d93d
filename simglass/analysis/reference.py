"""The paper's and the literature's reference numbers, each with its source (docs/conventions.md
§2 and §5).  Every analysis and validation row takes them from here.

Units: energies in units of J (t = 0) or t, as stated per number.
"""

from __future__ import annotations

import math

# t = 0 glass (Eq. 14): P(φ) ≈ α|φ|/J², α = 4 × 0.31, the SK slope of P(h) ≈ 0.31|h|/J_SK²
# mapped by φ = 2h, J = 4 J_SK (paper refs. 57-58; docs/conventions.md).
SK_FIELD_SLOPE = 0.31
ALPHA_THEORY = 4 * SK_FIELD_SLOPE

# SK ground-state energy per spin, Parisi's value (Crisanti & Rizzo 2002), units of J_SK;
# per site of the compensated model at n = ½ in units of J (J_SK = J/4).
E_PARISI_SK = -0.7631667
E_INF_THEORY = E_PARISI_SK / 4

# SK spin-glass transition T_c = J_SK (Sherrington & Kirkpatrick 1975), in units of J of the
# compensated half-filled model (J_SK = J/4); above it the exact paramagnetic energy per site
# is e(T) = -J_SK²/(2T) (docs/conventions.md, "Thermal Monte Carlo").
J_SK_PER_J = 0.25
TC_SK = J_SK_PER_J

# 3D Anderson transition, box disorder of full width W (Slevin & Ohtsuki 2018), Eq. 17;
# Gaussian disorder: W_c = 21.29 with variance W²/12, i.e. standard deviation 6.15 t.
W_C_BOX = 16.54
SIGMA_C_GAUSSIAN = 6.15

# Eq. 18: (J/t)_c,loc ≳ √(α W_c) ≈ 4.5 (an estimate, paper)
JC_LOC_EQ18 = math.sqrt(ALPHA_THEORY * W_C_BOX)

# level-spacing ratio <r>: Poisson 2 ln 2 - 1, GOE (Atas et al. 2013), 3D Anderson
# transition (level-statistics numerics; docs/conventions.md)
R_POISSON, R_GOE, R_CRIT = 0.3863, 0.5307, 0.516

# Hopfield model at T = 0: retrieval below M/N ≈ 0.138 (Amit, Gutfreund, Sompolinsky)
HOPFIELD_ALPHA_C = 0.138

__all__ = ["SK_FIELD_SLOPE", "ALPHA_THEORY", "E_PARISI_SK", "E_INF_THEORY", "J_SK_PER_J", "TC_SK", "W_C_BOX",
           "SIGMA_C_GAUSSIAN", "JC_LOC_EQ18", "R_POISSON", "R_GOE", "R_CRIT", "HOPFIELD_ALPHA_C"]

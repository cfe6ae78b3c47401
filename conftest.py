"""Pytest set-up for the whole workbook (tests/ and the nbval run over solutions/)."""

import os

# Notebooks and tests run in the fast profile unless told otherwise
# (AEWORKBOOK_PROFILE=full pytest checks the full profile). Kernels inherit this.
os.environ.setdefault("AEWORKBOOK_PROFILE", "fast")

"""``python -m napari_scribbleseg`` (and ``torchrun -m napari_scribbleseg``) run the CLI."""

import sys

from .cli import main

sys.exit(main())

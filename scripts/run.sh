#!/usr/bin/env bash
# Set up and run the main job: napari with the plugin docked and the cardiac sample loaded; without a
# display, the same pipeline headless (sample data -> train -> predict -> NIfTI export -> Dice).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ "${HEADLESS:-0}" != 1 ]; then
  exec python3 -m napari_scribbleseg._napari.launch
fi
OUT=${OUT:-runs/demo}
METHOD=${METHOD:-auto}
BUDGET=${BUDGET:-300}
echo "no display: running the headless pipeline in $OUT (method $METHOD, ${BUDGET}s of training)"
scribbleseg sample-data cardiac --out "$OUT/data"
scribbleseg train "$OUT/data/train/images" --scribbles "$OUT/data/train/scribbles" \
  --masks "$OUT/data/unpaired_masks" --method "$METHOD" --classes background,RV,MYO,LV \
  --time-budget "$BUDGET" --out "$OUT/model"
scribbleseg predict --model "$OUT/model" --out "$OUT/pred" "$OUT/data/test/images"
scribbleseg evaluate --pred "$OUT/pred" --truth "$OUT/data/test/masks" --json "$OUT/dice.json"

#!/usr/bin/env bash
# One training phase on a lent GPU machine (tool library `device`), prepared to fit one call.
#
# Here, before the call (the machine gets the repository and at most 64 MiB in all, no PyPI,
# no ../shared/data, no PyAV; .gpu/ is git-ignored, so `carry` takes it):
#     python -m training.data.pack .gpu/pack --mib 44             # ~2,500 photos + ~900 clip frames
#     cp RUNS/v5/stepNNNNNN.pt .gpu/init.pt                         # weights only (3 MB)
# or, for a network with the scene path (13 MB: then --mib 40):
#     python -m training.grow RUNS/soups/shipped-current.pt --scene-context --out .gpu/init.pt
# The call (EXTRA: more train_v2 options, e.g. run v17's "--temporal-weight 20 --hints-as-reference"):
#     run(command="MINUTES=7 EXTRA='...' bash training/gpu_train.sh", carry=[".gpu"], timeout_s=560)
# It checks that a training step on the GPU gives the CPU's losses, then trains from
# .gpu/init.pt on the pack (CUDA, bfloat16 autocast, cosine over MINUTES) and leaves
# $OUT/gpu/{final.pt,last.pt,log.jsonl,config.json} and $OUT/train.log to bring back.
# Afterwards, here: python -m training.evaluate --checkpoint <files_at>/gpu/final.pt
# A dry run on this machine: OUT=/tmp/gpu-out DEVICE=cpu MINUTES=0.3 WORKERS=1 BATCH=4 bash training/gpu_train.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD/plugin:$PWD" PYTHONUNBUFFERED=1
: "${OUT:?run this through the device tool, which sets OUT}"
for needed in .gpu/pack/pack.json .gpu/init.pt; do
    [ -f "$needed" ] || { echo "missing $needed: prepare it here first (see the top of $0)" >&2; exit 2; }
done
nvidia-smi --query-gpu=name,memory.total --format=csv,noheader || echo "no nvidia-smi"
python3 -c "import torch, cv2; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), 'cv2', cv2.__version__)"
python3 -m pytest -q -p no:cacheprovider tests/test_train_v2.py 2>&1 | tee "$OUT/gpu_check.log"
# bfloat16 autocast on the GPU; train_v2 refuses it on CPUs without native bfloat16 (the dry run)
BF16=$([ "${DEVICE:-cuda}" = cuda ] && echo --bf16 || true)
python3 -m training.train_v2 --name gpu --runs-dir "$OUT" --device "${DEVICE:-cuda}" $BF16 --pack .gpu/pack \
    --init-from .gpu/init.pt --activation prelu --crop 128 --batch-size "${BATCH:-64}" \
    --workers "${WORKERS:-14}" --lr "${LR:-1e-4}" --warmup-steps 100 --max-minutes "${MINUTES:-7}" \
    --max-steps 1000000 --val-every 1000000 --val-samples 128 --checkpoint-every 500 \
    --mismatched-reference 0.1 --ce-weight 0.05 ${EXTRA:-} 2>&1 | tee "$OUT/train.log"

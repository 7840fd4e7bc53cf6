#!/usr/bin/env bash
# The recipe of the default voice: FastPitch trained on the LJSpeech transcripts spoken by the
# offline teacher voice (hibari-tts), in time-limited slices on one GPU machine that has no
# network access and keeps nothing between runs.
#
# Each run: speak the text with the teacher (cached in /tmp while the machine lives), build the
# dataset, train for $MINUTES, then leave log.jsonl and weights.pt (bf16 weights of FastPitch +
# aligner and the step; split into 15 MiB parts) in $VOICE_OUT. Put those parts back in
# .devtrain/ and the next run continues from them.
#
# .devtrain/ holds what the machine lacks: the wheels (hibari-tts, tqdm, platformdirs,
# soundfile, cffi, pycparser, pyyaml), ljspeech.txt, and optionally weights.pt.part.*.
#   MINUTES=6 PRESET=base bash examples/train_default_voice.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
text=${TEXT:-.devtrain/ljspeech.txt}
minutes=${MINUTES:-5}
jobs=${JOBS:-$(( $(nproc) - 1 ))}
preset=${PRESET:-base}
out=${VOICE_OUT:-voice-out}
run=/tmp/voice-run
mkdir -p "$out" "$run"
python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site \
    .devtrain/*.whl
export PYTHONPATH="$PWD/python:/tmp/site" PYTHONUNBUFFERED=1
if ls .devtrain/weights.pt.part.* >/dev/null 2>&1 && [ ! -f "$run/checkpoint.pt" ]; then
    cat .devtrain/weights.pt.part.* > "$run/weights.pt"
fi
python3 -m fastpitch_tpu train teacher "$text" /tmp/voice-teacher --jobs "$jobs" 2>&1 \
    | tr '\r' '\n' | tail -1
[ -f /tmp/voice-dataset/dataset.json ] || \
    python3 -m fastpitch_tpu train dataset /tmp/voice-teacher /tmp/voice-dataset \
        --frontend nemo_arpabet --jobs "$jobs" 2>&1 | tr '\r' '\n' | tail -1
python3 -m fastpitch_tpu train fit /tmp/voice-dataset "$run" --preset "$preset" \
    --steps 1000000 --batch-size 32 --max-minutes "$minutes" --validate-every 2000 \
    --checkpoint-every 1000000 2>&1 | tr '\r' '\n' | grep -v '^$' | tail -2
cp "$run/log.jsonl" /tmp/voice-dataset/dataset.json "$out/"
split -b 15M "$run/weights.pt" "$out/weights.pt.part."
ls -l "$out"

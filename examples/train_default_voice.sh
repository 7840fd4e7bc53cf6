#!/usr/bin/env bash
# The recipe of the default voice: FastPitch trained on the LJSpeech transcripts spoken by the
# offline teacher voice (hibari-tts), in time-limited slices on one GPU machine that has no
# network access and keeps nothing once it is given back.
#
# The pipeline (speak the text with the teacher, build the dataset, train for $MINUTES) runs in
# the background so that one training process can outlive several commands on the same machine:
#   bash examples/train_default_voice.sh start      # begin (or resume) and return at once
#   bash examples/train_default_voice.sh wait 570   # follow it for up to 570 s
#   bash examples/train_default_voice.sh collect    # log.jsonl, dataset.json, weights parts
#   bash examples/train_default_voice.sh            # all three, until the pipeline ends
# `collect` leaves log.jsonl, dataset.json and weights.pt (bf16 weights of FastPitch + aligner
# and the step, split into 15 MiB parts) in $VOICE_OUT. Put those parts back in .devtrain/ and
# the next run continues from them (python examples/export_default_voice.py makes the packaged
# voice from weights.pt).
#
# .devtrain/ holds what the machine lacks: the wheels (hibari-tts, platformdirs, soundfile,
# cffi, pycparser), ljspeech.txt (the first 6,000 lines), and optionally weights.pt.part.*.
#   MINUTES=25 PRESET=base BATCH=32 bash examples/train_default_voice.sh start
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
text=${TEXT:-.devtrain/ljspeech.txt}
minutes=${MINUTES:-5}
jobs=${JOBS:-$(( $(nproc) - 1 ))}
preset=${PRESET:-base}
batch=${BATCH:-32}
out=${VOICE_OUT:-voice-out}
run=/tmp/voice-run
log=$run/pipeline.log

start() {
    mkdir -p "$run"
    rm -f "$run/done"
    python3 -m pip install -q --no-index --no-deps --no-compile --upgrade --target /tmp/site \
        .devtrain/*.whl
    if ls .devtrain/weights.pt.part.* >/dev/null 2>&1 && [ ! -f "$run/checkpoint.pt" ]; then
        cat .devtrain/weights.pt.part.* > "$run/weights.pt"
    fi
    PYTHONPATH="$PWD/python:/tmp/site" PYTHONUNBUFFERED=1 setsid nohup bash -c "
        python3 -m fastpitch_tpu train teacher '$text' /tmp/voice-teacher --jobs $jobs
        [ -f /tmp/voice-dataset/dataset.json ] || python3 -m fastpitch_tpu train dataset \
            /tmp/voice-teacher /tmp/voice-dataset --frontend nemo_arpabet --jobs $jobs
        python3 -m fastpitch_tpu train fit /tmp/voice-dataset '$run' --preset $preset \
            --steps 1000000 --batch-size $batch --max-minutes $minutes --validate-every 2000 \
            --checkpoint-every 2000
        echo \$? > '$run/done'" > "$log" 2>&1 < /dev/null &
    echo "started: teacher, dataset, then $minutes min of training (log: $log)"
}

wait_for() {
    local limit=$1 t=0
    while [ ! -f "$run/done" ] && [ "$t" -lt "$limit" ]; do sleep 5; t=$((t + 5)); done
    tr '\r' '\n' < "$log" | grep -v '^$' | tail -n 3
    [ -f "$run/log.jsonl" ] && tail -n 1 "$run/log.jsonl"
    if [ -f "$run/done" ]; then echo "pipeline finished: exit $(cat "$run/done")"; fi
}

collect() {
    mkdir -p "$out"
    cp "$run/log.jsonl" /tmp/voice-dataset/dataset.json "$out/"
    split -b 15M "$run/weights.pt" "$out/weights.pt.part."
    ls -l "$out"
}

case "${1:-all}" in
    start) start ;;
    wait) wait_for "${2:-570}" ;;
    collect) collect ;;
    all) start; wait_for 1000000; collect ;;
    *) echo "usage: $0 [start | wait SECONDS | collect]" >&2; exit 2 ;;
esac

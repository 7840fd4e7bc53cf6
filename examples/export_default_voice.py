"""Turn a training run's weights (``weights.pt`` or ``checkpoint.pt`` written by
``fastpitch-tpu train fit``) into the packaged default voice: float16 safetensors with the config
(python/fastpitch_tpu/voices/default.safetensors) and its manifest (default.json: sha256, vocoder,
origin, licence, training step). Measurements are added to the manifest by
benches/voice_quality.py --manifest.

    python examples/export_default_voice.py RUN/weights.pt
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path

import torch

from fastpitch_tpu.checkpoints import export_fastpitch
from fastpitch_tpu.models.fastpitch import FastPitch, FastPitchConfig

VOICES = Path(__file__).resolve().parent.parent / "python" / "fastpitch_tpu" / "voices"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("weights", help="weights.pt or checkpoint.pt of a training run")
    parser.add_argument("--name", default="default")
    parser.add_argument("--vocoder", default="universal",
                        help="the HiFi-GAN the voice is meant for (a load_hifigan name)")
    args = parser.parse_args()
    state = torch.load(args.weights, map_location="cpu", weights_only=True)
    model = FastPitch(FastPitchConfig.from_dict(state["config"]))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v
                           for k, v in state["model"].items()})
    path = export_fastpitch(model, VOICES / f"{args.name}.safetensors", dtype=torch.float16)
    manifest_path = VOICES / f"{args.name}.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    manifest.update({
        "name": args.name,
        "file": path.name,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "vocoder": args.vocoder,
        "parameters": sum(p.numel() for p in model.parameters()),
        "training_steps": int(state["step"]),
        "frontend": model.config.frontend,
        "sample_rate": model.config.sample_rate,
        "origin": ("FastPitch trained from scratch by examples/train_default_voice.sh on the "
                   "first 6,000 LJSpeech 1.1 transcripts, spoken by the offline teacher voice "
                   "'heart' of hibari-tts 0.2.1 (a distillation of Kokoro-82M's af_heart)"),
        "license": ("Apache-2.0 (teacher voice hibari-tts 0.2.1 and Kokoro-82M: Apache-2.0; "
                    "LJSpeech transcripts: public domain)"),
    })
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n")
    print(f"{path}: {path.stat().st_size / 1e6:.1f} MB, sha256 {manifest['sha256']}")


if __name__ == "__main__":
    main()

"""Request and response bodies of the HTTP API (with the examples shown in the OpenAPI schema)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

__all__ = ["BatchRequest", "BatchResponse", "Base64Audio", "SpeakableText", "TTSRequest"]

VOICE_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


def _speakable(text: str) -> str:
    if text.isspace():
        raise ValueError("the text has nothing to speak: it is only whitespace")
    return text


SpeakableText = Annotated[
    str,
    Field(min_length=1, json_schema_extra={"pattern": r"\S"}),
    AfterValidator(_speakable),
]
"""Text to speak: not empty and not only whitespace (422 otherwise, before it is queued)."""


class TTSRequest(BaseModel):
    """One utterance to speak."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [
            {"text": "Hello world.", "format": "wav"},
            {"text": "Dr. Smith paid $5 on May 3rd.", "voice": "default", "pace": 1.1,
             "pitch_shift": 10.0, "format": "base64"},
        ]},
    )

    text: SpeakableText = Field(description="Text to speak (numbers, dates, money ... are read "
                                "out by the text normalizer); not empty, not only whitespace.")
    voice: str = Field("default", pattern=VOICE_PATTERN,
                       description="Name of a voice configured on the server.")
    pace: float = Field(1.0, ge=0.1, le=10.0, description="Speaking rate; 1.25 is 25 % faster.")
    pitch_shift: float = Field(0.0, ge=-1000.0, le=1000.0, description="Pitch shift in Hz.")
    pitch_scale: float = Field(1.0, ge=-10.0, le=10.0,
                               description="Pitch range around the mean (0 = monotone).")
    speaker: int = Field(0, ge=0, le=100_000, description="Speaker id of multi-speaker voices.")
    format: Literal["wav", "pcm16", "base64"] = Field(
        "wav", description="wav: audio/wav; pcm16: raw little-endian 16-bit samples "
        "(audio/L16); base64: JSON with a base64 WAV.")


class Base64Audio(BaseModel):
    """A WAV file as base64, with its sample rate and duration."""

    audio: str = Field(description="Base64 of a 16-bit PCM WAV file.")
    sample_rate: int
    duration: float = Field(description="Seconds.")


class BatchRequest(BaseModel):
    """Several utterances (the older ``/tts`` endpoint)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"texts": ["Hello.", "How are you today?"]}]},
    )

    texts: list[SpeakableText] = Field(min_length=1, max_length=64)


class BatchResponse(BaseModel):
    """Base64 WAV files in the order of the texts."""

    audios: list[str]
    sample_rate: int

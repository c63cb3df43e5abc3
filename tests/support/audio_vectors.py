"""The malformed audio vectors committed under tests/voice/malformed (README.md there),
and what the refusal of each says: shared by the header-check, decoder and stack tests."""

from __future__ import annotations

from pathlib import Path

MALFORMED = Path(__file__).resolve().parents[1] / "voice" / "malformed"

# file → what the refusal says (the 415's reason)
REFUSED = {
    "float_16bit.wav": "float samples of 16 bits",
    "pcm_0bit.wav": "PCM samples of 0 bits",
    "unknown_format_tag.wav": "format 0x0063 is not taken",
    "alaw_16bit.wav": "A-law samples of 16 bits",
    "zero_channels.wav": "0 channels",
    "huge_channel_count.wav": "1000 channels",
    "rate_zero.wav": "at 0 Hz",
    "block_align_lies.wav": "block align 7",
    "byte_rate_zero.wav": "byte rate of 0",
    "extensible_unknown_subformat.wav": "not PCM or float",
    "truncated_header.wav": "truncated fmt chunk",
    "riff_size_lies.wav": "RIFF size ends before its chunks",
    "fmt_after_data.wav": "data comes before its fmt chunk",
    "two_fmt_chunks.wav": "two fmt chunks",
    "no_data_chunk.wav": "no data chunk",
    "empty_data.wav": "no samples",
    "big_endian_rifx.wav": "RIFX",
    "ogg_not_audio.ogg": "neither Opus nor Vorbis",
    "opus_six_channels_stereo_mapping.ogg": "mapping 0 for 6 channels",
    "amr_bad_frame.amr": "first frame header is invalid",
    "mp3_id3_past_end.mp3": "ID3 tag runs past its end",
}
# The three that crashed the server process inside PyAV (no decoder: no codec context).
CRASHED_PYAV = ("float_16bit.wav", "pcm_0bit.wav", "unknown_format_tag.wav")


def vector(name: str) -> bytes:
    return (MALFORMED / name).read_bytes()

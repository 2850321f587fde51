"""Media I/O: sequence patterns, pixel types and metadata, video random access, audio copy, atomicity."""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import OpenImageIO as oiio
import pytest
from colormotion.io.atomic import TEMP_PREFIX, AtomicFile, check_targets
from colormotion.io.errors import InputError, OutputError, UsageError
from colormotion.io.sequence import find_frames, parse_pattern, read_image, write_image
from colormotion.io.sink import BackgroundSink, open_sink
from colormotion.io.source import SequenceSource, VideoSource, open_source
from colormotion.io.video import EncodeSettings, VideoReader, VideoWriter, offset_timecode, resolve_encoding

from tests._media import audio_seconds, moving_frames, stream_summary, write_sequence, write_video

# --- sequence patterns ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, prefix, suffix, padding",
    [
        ("shot.####.exr", "shot.", ".exr", 4),
        ("shot.%04d.exr", "shot.", ".exr", 4),
        ("shot_%d.png", "shot_", ".png", 1),
        ("shot.#.dpx", "shot.", ".dpx", None),
    ],
)
def test_patterns_are_parsed(name, prefix, suffix, padding):
    pattern = parse_pattern(Path("/renders") / name)
    assert (pattern.prefix, pattern.suffix, pattern.padding) == (prefix, suffix, padding)
    assert pattern.directory == Path("/renders")


def test_plain_file_name_is_no_pattern():
    assert parse_pattern("/renders/still.exr") is None


def test_padding_rules_match_files(tmp_path):
    for name in ("a.0001.png", "a.0002.png", "a.10000.png", "a.01.png", "a.0003.png.bak", "b.0004.png"):
        (tmp_path / name).write_bytes(b"x")
    four = find_frames(parse_pattern(tmp_path / "a.####.png"))
    assert list(four) == [1, 2, 10000]
    assert four[1].name == "a.0001.png"
    # a lone # takes any padding, so a.01 and a.0001 collide: refused rather than guessed
    with pytest.raises(InputError, match="two files for frame 1"):
        find_frames(parse_pattern(tmp_path / "a.#.png"))


def test_output_paths_use_padding(tmp_path):
    assert parse_pattern(tmp_path / "o.####.exr").path(7).name == "o.0007.exr"
    assert parse_pattern(tmp_path / "o.%06d.exr").path(7).name == "o.000007.exr"
    assert parse_pattern(tmp_path / "o.#.exr").path(7).name == "o.0007.exr"


def test_sequence_with_gap_is_refused(tmp_path):
    pattern = write_sequence(tmp_path, moving_frames(3))
    os.remove(tmp_path / "clip.0002.png")
    with pytest.raises(InputError, match="gaps"):
        SequenceSource(pattern)


# --- pixel types, alpha, metadata ----------------------------------------------------------------


@pytest.mark.parametrize(
    "ext, dtype",
    [
        ("png", np.uint8),
        ("png", np.uint16),
        ("tif", np.uint16),
        ("exr", np.float16),
        ("exr", np.float32),
        ("dpx", np.uint16),
    ],
)
def test_pixel_type_and_alpha_survive_a_round_trip(tmp_path, ext, dtype):
    rng = np.random.default_rng(1)
    if np.dtype(dtype).kind == "u":
        pixels = rng.integers(0, np.iinfo(dtype).max, size=(5, 7, 4), endpoint=True).astype(dtype)
    else:
        pixels = rng.uniform(-0.5, 4.0, size=(5, 7, 4)).astype(dtype)
    path = tmp_path / f"image.{ext}"
    write_image(path, pixels)
    read, spec = read_image(path)
    assert read.dtype == dtype
    assert read.shape == (5, 7, 4)
    np.testing.assert_array_equal(read, pixels)
    assert spec.alpha_channel == 3


def test_metadata_is_copied_from_the_template(tmp_path):
    template = oiio.ImageSpec(4, 3, 3, "half")
    template.attribute("Artist", "Ada")
    template.attribute("colormotion:test", 42)
    write_image(tmp_path / "in.exr", np.zeros((3, 4, 3), np.float16), template)
    _, spec = read_image(tmp_path / "in.exr")
    write_image(tmp_path / "out.exr", np.ones((3, 4, 3), np.float16), spec)
    _, copied = read_image(tmp_path / "out.exr")
    assert copied.getattribute("Artist") == "Ada"
    assert copied.getattribute("colormotion:test") == 42


def test_float_frames_go_to_16_bit_png(tmp_path):
    write_image(tmp_path / "f.png", np.full((2, 2, 3), 0.5, np.float32))
    read, _ = read_image(tmp_path / "f.png")
    assert read.dtype == np.uint16
    assert read[0, 0, 0] == 32768


def test_grey_image_becomes_rgb(tmp_path):
    gray = np.arange(12, dtype=np.uint8).reshape(3, 4, 1)
    output = oiio.ImageOutput.create(str(tmp_path / "g.png"))
    output.open(str(tmp_path / "g.png"), oiio.ImageSpec(4, 3, 1, "uint8"))
    output.write_image(gray)
    output.close()
    read, _ = read_image(tmp_path / "g.png")
    assert read.shape == (3, 4, 3)
    np.testing.assert_array_equal(read[:, :, 1], gray[:, :, 0])


# --- video ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lossless_video(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    frames = moving_frames(12)
    path = tmp_path_factory.mktemp("video") / "lossless.mkv"
    return write_video(path, frames, codec="ffv1", pix_fmt="bgr0"), frames


def test_video_reads_frames_exactly(lossless_video):
    path, frames = lossless_video
    reader = VideoReader(path)
    assert reader.info.frame_count == 12
    assert reader.info.fps == Fraction(24)
    for index, expected in enumerate(frames):
        np.testing.assert_array_equal(reader.read(index), expected)
    reader.close()


def test_video_random_access_matches_sequential(tmp_path):
    # H.264 with B-frames and a short GOP: seeking must land on the right frame
    frames = moving_frames(12)
    path = write_video(tmp_path / "gop.mp4", frames, options={"g": "4", "bf": "2"})
    sequential = VideoSource(path, cache_frames=2)
    expected = {t: sequential.frame(t).copy() for t in range(1, 13)}
    shuffled = VideoSource(path, cache_frames=2)
    for t in [12, 3, 7, 1, 11, 2, 9, 5, 4, 10, 6, 8]:
        np.testing.assert_array_equal(shuffled.frame(t), expected[t], err_msg=f"frame {t}")


def test_video_source_numbers_frames_from_one(lossless_video):
    path, frames = lossless_video
    source = open_source(path)
    assert (source.first_frame, source.last_frame) == (1, 12)
    np.testing.assert_array_equal(source.frame(1), frames[0])
    assert source.info.kind == "video"
    with pytest.raises(IndexError):
        source.frame(13)


def test_video_writer_is_lossless_with_ffv1(tmp_path, lossless_video):
    _, frames = lossless_video
    writer = VideoWriter(tmp_path / "out.mkv", width=96, height=64, fps=Fraction(30000, 1001))
    for pixels in frames:
        writer.write(pixels)
    writer.close()
    reader = VideoReader(tmp_path / "out.mkv")
    assert reader.info.fps == Fraction(30000, 1001)
    for index, expected in enumerate(frames):
        np.testing.assert_array_equal(reader.read(index), expected)


def test_ten_bit_video_decodes_to_uint16(tmp_path, lossless_video):
    _, frames = lossless_video
    writer = VideoWriter(tmp_path / "out.mov", width=96, height=64, fps=Fraction(24), bit_depth=16)
    assert (writer.codec, writer.pix_fmt) == ("prores_ks", "yuv422p10le")
    for pixels in frames:
        writer.write(pixels.astype(np.uint16) * 257)
    writer.close()
    decoded = VideoReader(tmp_path / "out.mov").read(3)
    assert decoded.dtype == np.uint16
    # ProRes is lossy but close: within a few 8-bit steps
    assert np.abs(decoded.astype(np.int32) // 257 - frames[3]).mean() < 3


def test_default_encoders():
    assert resolve_encoding("a.mp4", EncodeSettings(), bit_depth=8, has_alpha=False) == ("libx264", "yuv420p")
    assert resolve_encoding("a.mov", EncodeSettings(), bit_depth=8, has_alpha=True) == (
        "prores_ks",
        "yuva444p10le",
    )
    assert resolve_encoding("a.mkv", EncodeSettings(), bit_depth=16, has_alpha=False) == ("ffv1", "rgb48le")
    with pytest.raises(UsageError, match="unknown or unavailable"):
        resolve_encoding("a.mp4", EncodeSettings(codec="nosuchcodec"), bit_depth=8, has_alpha=False)
    with pytest.raises(UsageError, match="cannot encode pixel format"):
        resolve_encoding("a.mp4", EncodeSettings(pix_fmt="rgba64le"), bit_depth=8, has_alpha=False)


def test_odd_sizes_encode_as_444(tmp_path):
    writer = VideoWriter(tmp_path / "odd.mp4", width=5, height=3, fps=Fraction(24))
    assert writer.pix_fmt == "yuv444p"
    writer.write(np.full((3, 5, 3), 128, np.uint8))
    writer.close()
    assert VideoReader(tmp_path / "odd.mp4").read(0).shape == (3, 5, 3)


def test_audio_is_stream_copied(tmp_path):
    frames = moving_frames(12)
    source = write_video(tmp_path / "with_audio.mp4", frames, audio=True)
    writer = VideoWriter(tmp_path / "out.mp4", width=96, height=64, fps=Fraction(24), audio_source=source)
    for pixels in frames:
        writer.write(pixels)
    writer.close()
    assert stream_summary(tmp_path / "out.mp4") == [("video", "h264"), ("audio", "aac")]
    assert audio_seconds(tmp_path / "out.mp4") == pytest.approx(audio_seconds(source), abs=0.03)


def test_identity_follows_the_file(tmp_path, lossless_video):
    path, frames = lossless_video
    copy = tmp_path / "copy.mkv"
    copy.write_bytes(path.read_bytes())
    before = VideoSource(copy).identity
    assert VideoSource(copy).identity == before
    os.utime(copy, ns=(1, 1))
    assert VideoSource(copy).identity != before


# --- atomic output -------------------------------------------------------------------------------


def test_atomic_file_discard_keeps_the_old_file(tmp_path):
    final = tmp_path / "out.mp4"
    final.write_bytes(b"precious")
    atomic = AtomicFile(final)
    atomic.temp.write_bytes(b"half written")
    atomic.discard()
    assert final.read_bytes() == b"precious"
    assert os.listdir(tmp_path) == ["out.mp4"]


def test_check_targets(tmp_path):
    existing = tmp_path / "in.png"
    existing.write_bytes(b"x")
    link = tmp_path / "link.png"
    os.link(existing, link)
    with pytest.raises(OutputError, match="is the input"):
        check_targets([link], [existing], overwrite=True)
    with pytest.raises(OutputError, match="is the input"):
        check_targets([tmp_path / "." / "in.png"], [existing], overwrite=True)
    with pytest.raises(OutputError, match="exists"):
        check_targets([link], [tmp_path / "other.png"], overwrite=False)
    check_targets([tmp_path / "new.png"], [existing], overwrite=False)


def test_interrupted_sequence_leaves_nothing(tmp_path):
    pattern = write_sequence(tmp_path / "in", moving_frames(4))
    source = SequenceSource(pattern)
    out_pattern = tmp_path / "out" / "o.####.png"
    sink = open_sink(out_pattern, source.info, range(1, 5), overwrite=False, spec_of=source.spec)
    try:
        with pytest.raises(KeyboardInterrupt):
            for t in range(1, 5):
                if t == 3:
                    raise KeyboardInterrupt
                sink.write(t, source.frame(t))
    finally:
        sink.discard()
    assert os.listdir(tmp_path / "out") == []


def test_sink_commit_moves_frames_into_place(tmp_path):
    pattern = write_sequence(tmp_path / "in", moving_frames(4), first=101)
    source = SequenceSource(pattern)
    sink = open_sink(
        tmp_path / "out" / "o.####.png", source.info, range(102, 104), overwrite=False, spec_of=source.spec
    )
    for t in range(102, 104):
        sink.write(t, source.frame(t))
    sink.commit()
    assert sorted(os.listdir(tmp_path / "out")) == ["o.0102.png", "o.0103.png"]
    assert not any(name.startswith(TEMP_PREFIX) for name in os.listdir(tmp_path / "out"))


def test_engine_access_pattern_decodes_each_frame_once(tmp_path, monkeypatch):
    """Rendering in order asks for t and a window back (t-W..t): the LRU serves it, no seeks."""
    path = write_video(tmp_path / "long.mp4", moving_frames(30), options={"g": "10"})
    source = VideoSource(path, cache_frames=6)
    seeks = []
    original_seek = VideoReader._seek
    monkeypatch.setattr(
        VideoReader, "_seek", lambda self, index: (seeks.append(index), original_seek(self, index))
    )
    for t in range(1, 31):
        for back in range(max(1, t - 4), t + 1):
            source.frame(back)
    assert seeks == []
    source.frame(3)  # far behind the cache: one seek to the keyframe before it
    assert seeks == [2]


class _RecordingSink:
    def __init__(self, fail_at: int | None = None) -> None:
        self.written, self.committed, self.discarded, self.fail_at = [], False, False, fail_at

    def write(self, t, frame):
        if t == self.fail_at:
            raise OutputError("disk full", "/renders/o.0002.png")
        self.written.append(t)

    def commit(self):
        self.committed = True

    def discard(self):
        self.discarded = True


def test_background_sink_writes_in_order_then_commits():
    inner = _RecordingSink()
    sink = BackgroundSink(inner, depth=2)
    for t in range(1, 8):
        sink.write(t, np.zeros((2, 2, 3), np.uint8))
    sink.commit()
    assert inner.written == list(range(1, 8)) and inner.committed


def test_background_sink_hands_a_writer_error_to_the_caller():
    inner = _RecordingSink(fail_at=2)
    sink = BackgroundSink(inner, depth=1)
    with pytest.raises(OutputError, match="disk full"):
        for t in range(1, 50):
            sink.write(t, np.zeros((2, 2, 3), np.uint8))
        sink.commit()
    sink.discard()
    assert inner.written == [1] and inner.discarded and not inner.committed


@pytest.mark.parametrize("ext", ["mkv", "mov"])
def test_video_alpha_round_trip(tmp_path, ext):
    pixels = np.zeros((48, 64, 4), np.uint8)
    pixels[..., :3] = 100
    pixels[..., 3] = np.arange(64, dtype=np.uint8) * 4
    writer = VideoWriter(tmp_path / f"alpha.{ext}", width=64, height=48, fps=Fraction(24), has_alpha=True)
    for _ in range(2):
        writer.write(pixels)
    writer.close()
    reader = VideoReader(tmp_path / f"alpha.{ext}")
    assert reader.info.has_alpha
    decoded = reader.read(1)
    assert decoded.shape == (48, 64, 4)
    alpha = decoded[..., 3] if decoded.dtype == np.uint8 else decoded[..., 3] / 257.0
    np.testing.assert_allclose(alpha, pixels[..., 3], atol=1)  # FFV1 exact, ProRes 4444 within rounding


def test_gray_video_is_not_taken_for_alpha(tmp_path):
    frames = moving_frames(2)
    path = write_video(tmp_path / "gray.mkv", frames, codec="ffv1", pix_fmt="gray")
    reader = VideoReader(path)
    assert not reader.info.has_alpha
    np.testing.assert_array_equal(reader.read(0), frames[0])


def test_committed_file_gets_the_usual_permissions(tmp_path):
    atomic = AtomicFile(tmp_path / "out.mov")
    atomic.temp.write_bytes(b"frames")
    atomic.commit()
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "out.mov").stat().st_mode & 0o777 == 0o666 & ~mask


def test_format_without_alpha_warns(tmp_path):
    rgba = np.full((4, 6, 4), 200, np.uint8)
    warnings = write_image(tmp_path / "a.jpg", rgba)
    assert any("alpha dropped" in warning for warning in warnings)
    assert read_image(tmp_path / "a.jpg")[0].shape == (4, 6, 3)


def test_offset_timecode():
    assert offset_timecode("01:00:00:00", 30, Fraction(25)) == "01:00:01:05"
    assert offset_timecode("00:59:59:23", 1, Fraction(24)) == "01:00:00:00"
    assert offset_timecode("01:00:00;00", 5, Fraction(30000, 1001)) is None  # drop-frame: not guessed


def test_timecode_and_tags_follow_the_render(tmp_path):
    import av

    clip = write_video(tmp_path / "clip.mp4", moving_frames(10))
    tagged = tmp_path / "tagged.mov"
    with av.open(str(clip)) as source, av.open(str(tagged), "w") as output:
        stream = output.add_stream_from_template(source.streams.video[0])
        stream.metadata["timecode"] = "10:00:00:00"
        output.metadata["title"] = "Reel 3"
        for packet in source.demux(source.streams.video[0]):
            if packet.size:
                packet.stream = stream
                output.mux(packet)
    source = VideoSource(tagged)
    assert source.info.timecode == "10:00:00:00"
    frames = range(5, 9)
    sink = open_sink(tmp_path / "out.mov", source.info, frames, overwrite=False)
    for t in frames:
        sink.write(t, source.frame(t))
    sink.commit()
    with av.open(str(tmp_path / "out.mov")) as result:
        assert result.metadata.get("title") == "Reel 3"
        assert result.streams.video[0].metadata.get("timecode") == "10:00:00:04"  # frame 5 = 4 frames in


@pytest.mark.parametrize(("width", "height"), [(96, 64), (7, 5)])
def test_the_writer_encodes_the_standard_conversion_of_each_frame(tmp_path, width, height):
    """The writer converts RGB to Rec. 709 video-range YUV through one reused scaler and
    without copying the frame; losslessly encoded (x264 at CRF 0), the YUV it wrote is what
    PyAV's plain per-frame conversion gives. An odd size (4:4:4) too."""
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (height, width, 3), dtype=np.uint8) for _ in range(3)]
    writer = VideoWriter(
        tmp_path / "out.mp4", width=width, height=height, fps=Fraction(24), settings=EncodeSettings(crf=0)
    )
    for pixels in frames:
        writer.write(pixels)
    writer.close()
    with av.open(str(tmp_path / "out.mp4")) as container:
        written = [frame.to_ndarray() for frame in container.decode(video=0)]
    assert len(written) == len(frames)
    for pixels, got in zip(frames, written):
        plain = av.VideoFrame.from_ndarray(pixels, format="rgb24").reformat(
            format=writer.pix_fmt, dst_colorspace="ITU709", dst_color_range="MPEG"
        )
        np.testing.assert_array_equal(got, plain.to_ndarray())


@pytest.mark.parametrize(("preset", "settings"), [(None, "subme=2"), ("slow", "subme=8")])
def test_the_x264_preset_reaches_the_encoder(tmp_path, preset, settings):
    """x264 writes its settings into the stream (an SEI message): the default preset is
    veryfast (sub-pixel refinement 2), and --preset overrides it (slow: 8)."""
    writer = VideoWriter(
        tmp_path / "out.mp4", width=64, height=48, fps=Fraction(24), settings=EncodeSettings(preset=preset)
    )
    for level in (0, 128, 255):
        writer.write(np.full((48, 64, 3), level, np.uint8))
    writer.close()
    stream = (tmp_path / "out.mp4").read_bytes()
    assert b"x264 - core" in stream
    assert f" {settings} ".encode() in stream

"""`cnnlens video IN --out OUT` (registry/video/cli.py): files and a summary; a bad video is a sentence, status 2."""

from registry.video.cli import main
from tests.registry.video.test_explain_video import moving_cat


def test_the_command_writes_the_video_rows_and_timeline(tmp_path, capsys):
    clip, out = tmp_path / "in.mp4", tmp_path / "runs" / "out.mp4"
    moving_cat(clip, 48, 8)
    argv = [str(clip), "--out", str(out), "--backbone", "test_resnet", "--weights", "random", "--every", "4"]
    assert main([*argv, "--quiet"]) == 0
    assert "2 frames explained" in capsys.readouterr().out
    assert sorted(path.name for path in out.parent.iterdir()) == ["out.csv", "out.mp4", "out.parquet", "out.png"]


def test_a_bad_video_is_a_sentence(tmp_path, capsys):
    (tmp_path / "x.mp4").write_text("no")
    assert main([str(tmp_path / "x.mp4"), "--out", str(tmp_path / "o.mp4"), "--quiet"]) == 2
    assert capsys.readouterr().err.strip() == (
        "cnnlens video: 'x.mp4' could not be read as a video (MP4, WebM, MOV, MKV, AVI or Y4M)."
    )

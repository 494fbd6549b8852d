"""tinytorch.utils.visualize: terminal heatmaps, the filter-sliding picture, feature-map grids and
PNG files (matplotlib's Agg canvas; never a window)."""

import io
import os
from pathlib import Path

import numpy as np
import pytest
from course_root import ROOT
from rich.console import Console

from tinytorch.core.cnn import Conv2D
from tinytorch.core.tensor import Tensor
from tinytorch.utils.visualize import RAMP, filter_sliding, heatmap, render, save_png, show_feature_maps

# Drawing a PNG with matplotlib costs seconds (its import, the layout, a font cache): tests of the
# provided picture helpers, not of the student's code, so `tito test` leaves them to --full
DRAWS_PNG = pytest.mark.slow


def test_heatmap_has_one_line_per_row_and_two_characters_per_value():
    data = np.array([[0.0, 1.0, 2.0], [3.0, 4.0, 9.0]])
    lines = render(heatmap(data)).splitlines()
    assert lines[0] == RAMP[0] * 2 + RAMP[1] * 2 + RAMP[2] * 2
    assert lines[1] == RAMP[3] * 2 + RAMP[4] * 2 + RAMP[9] * 2
    assert lines[2] == "0 … 9"


def test_heatmap_of_a_constant_array_and_a_fixed_range():
    assert set(render(heatmap(np.full((2, 2), 5.0))).splitlines()[0]) == {RAMP[0]}
    clipped = render(heatmap(np.array([[-10.0, 0.5, 10.0]]), value_range=(0.0, 1.0))).splitlines()[0]
    assert clipped == RAMP[0] * 2 + RAMP[5] * 2 + RAMP[9] * 2


def test_heatmap_rejects_non_2d():
    with pytest.raises(ValueError, match=r"must be 2-D \(H, W\), got shape \(2, 2, 2\)"):
        heatmap(np.zeros((2, 2, 2)))


def test_filter_sliding_marks_the_window_and_its_value():
    image = np.arange(1, 26).reshape(5, 5)
    text = render(filter_sliding(image, [[1, 0], [0, -1]], position=(1, 2)))
    assert "[8]" in text and "[9]" in text and "[13]" in text and "[14]" in text and "[7]" not in text
    assert text.rstrip().endswith("out[1, 2] = 8·1 + 9·0 + 13·0 + 14·-1 = -6")
    strided = render(filter_sliding(image, np.ones((3, 3)), position=(1, 1), stride=2))
    assert strided.rstrip().endswith(f"= {image[2:5, 2:5].sum():g}")


def test_filter_sliding_rejects_positions_outside_the_image():
    with pytest.raises(ValueError, match=r"position \(3, 0\) puts the 3×3 kernel outside the 5×5 image"):
        filter_sliding(np.zeros((5, 5)), np.zeros((3, 3)), position=(3, 0))


def test_show_feature_maps_of_a_conv_layer():
    np.random.seed(0)
    maps = Conv2D(3, 16, 3)(Tensor(np.random.rand(3, 12, 12))).data
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, no_color=True, color_system=None)  # plain, even under FORCE_COLOR
    pictures = show_feature_maps(maps, title="3→16", console=console)
    assert len(pictures) == 16
    assert all(len(render(p).splitlines()) == 10 + 2 for p in pictures)   # title, 10 rows, range
    output = buffer.getvalue()
    assert "16 maps of 10×10" in output and "map 15" in output
    assert max(len(line) for line in output.splitlines()) <= 100
    assert len(show_feature_maps(maps, show=False, limit=4)) == 4
    with pytest.raises(ValueError, match=r"\(C, H, W\) for one image"):
        show_feature_maps(maps[np.newaxis], show=False)


@DRAWS_PNG
def test_save_png_writes_a_png_without_pyplot(tmp_path):
    pytest.importorskip("matplotlib")
    path = save_png(np.random.rand(5, 6, 6), tmp_path / "maps" / "f.png", title="maps")
    assert path == tmp_path / "maps" / "f.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    single = save_png(np.eye(4), tmp_path / "one.png")
    assert single.stat().st_size > 100
    with pytest.raises(ValueError, match=r"\(H, W\) or \(K, H, W\)"):
        save_png(np.zeros((1, 1, 2, 2)), tmp_path / "bad.png")


def test_render_returns_the_picture_inside_jupyter_too(monkeypatch):
    """In Jupyter, Rich displays in the notebook instead of writing to a file: render must not."""
    import rich.console

    monkeypatch.setattr(rich.console, "_is_jupyter", lambda: True)
    text = render(filter_sliding(np.arange(1, 26).reshape(5, 5), [[1, 0], [0, -1]], position=(1, 2)))
    assert text.rstrip().endswith("out[1, 2] = 8·1 + 9·0 + 13·0 + 14·-1 = -6")


@DRAWS_PNG
def test_png_panels_are_named_as_in_the_terminal_and_carry_colour_bars():
    pytest.importorskip("matplotlib")
    from tinytorch.utils.visualize import png_figure

    np.random.seed(0)
    maps = Conv2D(3, 16, 3)(Tensor(np.random.rand(3, 12, 12))).data
    terminal = [render(p).splitlines()[0] for p in show_feature_maps(maps, show=False)]
    figure = png_figure(maps, title="3→16")
    titled = [axes for axes in figure.axes if axes.get_title()]
    assert [axes.get_title() for axes in titled] == terminal == [f"map {k}" for k in range(16)]
    assert len(figure.axes) == 2 * 16  # a colour bar beside every map
    bar = figure.axes[1]
    low, high = sorted(bar.get_ylim())
    assert low == pytest.approx(maps[0].min()) and high == pytest.approx(maps[0].max())
    named = png_figure(maps[:2], labels=["input", "map 0"])
    assert [a.get_title() for a in named.axes if a.get_title()] == ["input", "map 0"]
    with pytest.raises(ValueError, match="got 1 labels for 2 arrays"):
        png_figure(maps[:2], labels=["one"])


def test_pictures_go_to_the_outputs_folder_never_a_shared_fixed_name(monkeypatch, tmp_path):
    from tinytorch.utils.visualize import output_folder

    monkeypatch.setenv("TINYTORCH_OUTPUTS", str(tmp_path / "mine"))
    assert output_folder() == tmp_path / "mine"
    monkeypatch.delenv("TINYTORCH_OUTPUTS")
    folder = output_folder()  # the course's outputs/, or a private folder when it is read-only
    assert folder == ROOT / "outputs" or folder.name.startswith("tinytorch-outputs-")


@DRAWS_PNG
def test_the_private_folder_is_made_by_the_first_picture_and_named_once(monkeypatch, tmp_path, capsys):
    """A read-only course: asking where pictures go leaves nothing in /tmp; the first PNG makes a
    folder only its user can open, and says where it is."""
    pytest.importorskip("matplotlib")
    from tinytorch.utils import visualize

    monkeypatch.setattr(visualize.tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(visualize, "_made", [])
    visualize._private_folder.cache_clear()
    try:
        folder = visualize._private_folder()
        assert folder.parent == tmp_path and folder.name.startswith("tinytorch-outputs-")
        assert list(tmp_path.iterdir()) == []
        save_png(np.eye(4), folder / "one.png")
        save_png(np.eye(3), folder / "two.png")
        assert sorted(p.name for p in folder.iterdir()) == ["one.png", "two.png"]
        assert folder.stat().st_mode & 0o777 == 0o700
        assert capsys.readouterr().err == (f"TinyTorch: pictures go to {folder} (this course's outputs/ cannot be "
                                           "written; TINYTORCH_OUTPUTS chooses the folder).\n")
        visualize._private_folder.cache_clear()
        monkeypatch.setattr(visualize, "_made", [])
        taken = visualize._private_folder()
        taken.mkdir()                                   # someone else's folder under that name
        with pytest.raises(FileExistsError):
            save_png(np.eye(2), taken / "three.png")
    finally:
        visualize._private_folder.cache_clear()


@DRAWS_PNG
def test_an_unwritable_matplotlib_folder_gets_a_temporary_one_without_a_warning(tmp_path):
    """A read-only HOME (here XDG_CONFIG_HOME=/dev/null): no 'mkdir -p failed' warning from
    matplotlib, and the temporary folder is gone at exit."""
    import subprocess
    import sys

    pytest.importorskip("matplotlib")
    script = ("import os\nimport numpy as np\nfrom tinytorch.utils.visualize import save_png\n"
              "print(save_png(np.eye(3), 'eye.png').stat().st_size > 0, os.environ['MPLCONFIGDIR'])\n")
    env = {**os.environ, "XDG_CONFIG_HOME": "/dev/null", "XDG_CACHE_HOME": "/dev/null", "TMPDIR": str(tmp_path)}
    env.pop("MPLCONFIGDIR", None)
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True,
                            timeout=60)
    # matplotlib's own words (a grader's sandbox may add fontconfig's, which are not ours to hide)
    assert "mkdir -p failed" not in result.stderr and "temporary cache directory" not in result.stderr, result.stderr
    saved, folder = result.stdout.split()
    assert saved == "True" and Path(folder).parent == tmp_path and not Path(folder).exists()

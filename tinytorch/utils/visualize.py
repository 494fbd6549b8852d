"""Pictures of arrays: terminal heatmaps with Rich, PNG files with matplotlib when installed.

Nothing here opens a window or blocks, so the functions are safe in tests and CI::

    from tinytorch.utils.visualize import show_heatmap, show_feature_maps, filter_sliding, save_png

    show_heatmap(image)                          # one (H, W) array in the terminal
    show_feature_maps(conv(x).data[0])           # (C, H, W): a grid of C small heatmaps
    print(render(filter_sliding(image, kernel, position=(1, 2))))
    save_png(feature_maps, output_folder() / "maps.png")   # a PNG if matplotlib is there, else None

Every cell of a terminal heatmap is two characters from a ramp of ten shades
(`` .:-=+*#%@``), coloured from blue (low) to red (high) when the terminal has
colour, so the picture survives ``NO_COLOR`` and plain log files. A PNG names its panels
as the terminal does (``map 0``, ``map 1``, ...) and gives each its colour bar.

Pictures go to ``output_folder()``: ``$TINYTORCH_OUTPUTS`` when set, else the course's
``outputs/`` folder, else (a course that cannot be written) a private temporary folder, created
by the first picture saved there, which says where it is — never a fixed name in a folder
that every user of the machine shares.
"""

from __future__ import annotations

import io
import os
import secrets
import sys
import tempfile
from functools import lru_cache
from pathlib import Path

import numpy as np

RAMP = " .:-=+*#%@"
PALETTE = [
    "#313695", "#4575b4", "#74add1", "#abd9e9", "#e0f3f8",
    "#fee090", "#fdae61", "#f46d43", "#d73027", "#a50026",
]


def _as_2d(array, name="array") -> np.ndarray:
    data = np.asarray(getattr(array, "data", array), dtype=np.float64)
    if data.ndim != 2:
        raise ValueError(f"{name} must be 2-D (H, W), got shape {data.shape}.")
    return data


def _levels(data: np.ndarray, value_range=None) -> np.ndarray:
    """Each value's shade 0..9, scaled from value_range (default: the array's min and max)."""
    low, high = value_range if value_range is not None else (np.nanmin(data), np.nanmax(data))
    if not np.isfinite(low) or not np.isfinite(high) or high <= low:
        return np.zeros(data.shape, dtype=int)
    scaled = (np.clip(data, low, high) - low) / (high - low)
    return np.minimum((scaled * len(RAMP)).astype(int), len(RAMP) - 1)


def heatmap(array, title=None, value_range=None):
    """A Rich ``Text`` drawing of a 2-D array (H, W): H lines of 2·W shade characters."""
    from rich.text import Text

    data = _as_2d(array)
    levels = _levels(data, value_range)
    text = Text()
    if title:
        text.append(f"{title}\n", style="bold")
    for r, row in enumerate(levels):
        for level in row:
            text.append(RAMP[level] * 2, style=f"{PALETTE[level]} on {PALETTE[level]}" if level else "")
        if r < len(levels) - 1:
            text.append("\n")
    if data.size:
        text.append(f"\n{np.nanmin(data):.2g} … {np.nanmax(data):.2g}", style="dim")
    return text


def render(renderable, width: int = 120) -> str:
    """Plain text of a Rich renderable (no colour codes), e.g. to test or log a picture."""
    from rich.console import Console

    buffer = io.StringIO()
    # force_jupyter=False: inside Jupyter, Rich would otherwise display the picture in the
    # notebook and leave the buffer empty.
    Console(file=buffer, width=width, no_color=True, color_system=None, highlight=False,
            force_jupyter=False).print(renderable)
    return buffer.getvalue()


def _print(renderable, console=None):
    if console is None:
        from rich.console import Console

        console = Console(highlight=False)
    console.print(renderable)


def show_heatmap(array, title=None, value_range=None, console=None):
    """Print a 2-D array as a terminal heatmap; returns the Rich Text."""
    text = heatmap(array, title, value_range)
    _print(text, console)
    return text


def show_feature_maps(maps, title=None, columns=4, shared_range=False, show=True, console=None, limit=None,
                      label="map"):
    """Heatmaps of the feature maps of one image, (C, H, W), printed as a grid.

    Each map is scaled to its own range unless ``shared_range`` and titled ``"{label} {c}"``.
    Returns the list of heatmaps (one Rich Text per map, at most ``limit``); prints them only
    if ``show``.
    """
    from rich.table import Table

    data = np.asarray(getattr(maps, "data", maps), dtype=np.float64)
    if data.ndim != 3:
        raise ValueError(f"feature maps must be (C, H, W) for one image, got shape {data.shape}.")
    if columns < 1:
        raise ValueError(f"columns must be a positive int, got {columns!r}.")
    value_range = (data.min(), data.max()) if shared_range and data.size else None
    count = data.shape[0] if limit is None else min(limit, data.shape[0])
    pictures = [heatmap(data[c], f"{label} {c}", value_range) for c in range(count)]
    if show:
        if console is None:
            from rich.console import Console

            console = Console(highlight=False)
        columns = max(1, min(columns, console.width // (2 * data.shape[2] + 2)))
        grid = Table.grid(padding=(0, 2))
        for _ in range(min(columns, len(pictures)) or 1):
            grid.add_column()
        for start in range(0, len(pictures), columns):
            row = pictures[start:start + columns]
            grid.add_row(*row, *[""] * (min(columns, len(pictures)) - len(row)))
            grid.add_row(*[""] * min(columns, len(pictures)))
        if title:
            _print(f"[bold]{title}[/]  ({data.shape[0]} maps of {data.shape[1]}×{data.shape[2]})", console)
        _print(grid, console)
    return pictures


def filter_sliding(image, kernel, position=(0, 0), stride=1):
    """A picture of a (kH, kW) kernel over a 2-D image at output ``position`` and its result.

    The window is drawn in brackets (and highlighted in colour) inside the image's numbers; below
    it, the products and ``out[i, j] = value``. Returns a Rich Text.
    """
    from rich.text import Text

    data, weights = _as_2d(image, "image"), _as_2d(kernel, "kernel")
    (H, W), (kH, kW) = data.shape, weights.shape
    i, j = position
    top, left = i * stride, j * stride
    if i < 0 or j < 0 or top + kH > H or left + kW > W:
        raise ValueError(
            f"position {tuple(position)} puts the {kH}×{kW} kernel outside the {H}×{W} image "
            f"(valid: 0..{(H - kH) // stride} × 0..{(W - kW) // stride})."
        )
    width = max(len(f"{v:g}") for v in data.ravel()) + 2
    text = Text()
    text.append(f"kernel {kH}×{kW} at output ({i}, {j}), stride {stride}\n", style="bold")
    for r in range(H):
        for c in range(W):
            inside = top <= r < top + kH and left <= c < left + kW
            cell = f"[{data[r, c]:g}]" if inside else f" {data[r, c]:g} "
            text.append(cell.rjust(width + 1), style="bold black on yellow" if inside else "")
        text.append("\n")
    window = data[top:top + kH, left:left + kW]
    terms = " + ".join(f"{a:g}·{b:g}" for a, b in zip(window.ravel(), weights.ravel()))
    value = float(np.sum(window * weights))
    text.append(f"out[{i}, {j}] = {terms} = {value:g}", style="green")
    return text


def output_folder() -> Path:
    """Where pictures are saved: ``$TINYTORCH_OUTPUTS``, else ``outputs/`` of the course this
    package belongs to, else (no course, or one that cannot be written) a private temporary
    folder of this process."""
    chosen = os.environ.get("TINYTORCH_OUTPUTS")
    if chosen:
        return Path(chosen)
    root = Path(__file__).resolve().parents[2]
    if (root / "modules" / "source").is_dir():
        folder = root / "outputs"
        try:
            folder.mkdir(exist_ok=True)
            with tempfile.TemporaryFile(dir=folder):
                return folder
        except OSError:  # a read-only course
            pass
    return _private_folder()


@lru_cache(maxsize=1)
def _private_folder() -> Path:
    """This process's private folder for pictures: named now, created (mode 700) by the first
    ``save_png`` into it, so a process that saves nothing leaves nothing behind."""
    return Path(tempfile.gettempdir()) / f"tinytorch-outputs-{secrets.token_hex(8)}"


def _make_folder(folder: Path) -> None:
    """Create ``folder`` for a picture. The private folder is made by this process alone (a
    folder already under its unguessable name is not ours: FileExistsError), and the first time
    it says where it is."""
    if folder != _private_folder():
        folder.mkdir(parents=True, exist_ok=True)
    elif not _made:
        folder.mkdir(mode=0o700)
        _made.append(folder)
        print(f"TinyTorch: pictures go to {folder} (this course's outputs/ cannot be written; "
              "TINYTORCH_OUTPUTS chooses the folder).", file=sys.stderr)
    elif not folder.is_dir():  # removed since: made again, without saying so twice
        folder.mkdir(mode=0o700)


_made: list = []  # the private folder, once made


def _writable_matplotlib_folders() -> None:
    """Before matplotlib is first imported: when its config or cache folder cannot be made or
    written (a read-only HOME, XDG_CONFIG_HOME=/dev/null), give it a temporary one
    (MPLCONFIGDIR), removed at exit — what matplotlib would do itself, after a two-line warning."""
    if "matplotlib" in sys.modules or os.environ.get("MPLCONFIGDIR"):
        return
    for variable, default in (("XDG_CONFIG_HOME", ".config"), ("XDG_CACHE_HOME", ".cache")):
        try:
            folder = Path(os.environ.get(variable) or Path.home() / default) / "matplotlib"
            folder.mkdir(parents=True, exist_ok=True)
            writable = os.access(folder, os.W_OK)
        except (OSError, RuntimeError):  # RuntimeError: no HOME and no passwd entry to find one
            writable = False
        if not writable:
            import atexit
            import shutil

            temporary = tempfile.mkdtemp(prefix="tinytorch-matplotlib-")
            atexit.register(shutil.rmtree, temporary, ignore_errors=True)
            os.environ["MPLCONFIGDIR"] = temporary
            return


def png_figure(arrays, title=None, columns=4, cmap="viridis", labels=None, label="map"):
    """A matplotlib Figure (Agg canvas, never a window) of one (H, W) array or a stack (K, H, W).

    Panel k is titled ``labels[k]``, by default ``"{label} {k}"`` as in ``show_feature_maps``
    (a single array has no panel title), and has a colour bar of its own values. Returns None
    when matplotlib is not installed.
    """
    try:
        _writable_matplotlib_folders()
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        return None
    data = np.asarray(getattr(arrays, "data", arrays), dtype=np.float64)
    single = data.ndim == 2
    if single:
        data = data[np.newaxis]
    if data.ndim != 3:
        raise ValueError(f"save_png expects (H, W) or (K, H, W), got shape {data.shape}.")
    count = data.shape[0]
    if labels is None:
        labels = [""] if single else [f"{label} {k}" for k in range(count)]
    if len(labels) != count:
        raise ValueError(f"save_png got {len(labels)} labels for {count} arrays.")
    cols = max(1, min(columns, count))
    rows = -(-count // cols)
    height = 2.2 * rows + (0.4 if title else 0)
    figure = Figure(figsize=(2.6 * cols, height))
    FigureCanvasAgg(figure)
    # margins in inches set by hand: a layout engine ("constrained") would measure every panel and
    # colour bar again, which doubles the time of a 16-map picture
    figure.subplots_adjust(left=0.01, right=0.96, bottom=0.05 / height, top=1 - (0.55 if title else 0.25) / height,
                           wspace=0.15, hspace=0.25)
    for k in range(count):
        axes = figure.add_subplot(rows, cols, k + 1)
        image = axes.imshow(data[k], cmap=cmap)
        if labels[k]:
            axes.set_title(labels[k], fontsize=8)
        axes.set_axis_off()
        bar = figure.colorbar(image, ax=axes, shrink=0.8)
        bar.ax.tick_params(labelsize=6)
    if title:
        figure.suptitle(title)
    return figure


def save_png(arrays, path, title=None, columns=4, cmap="viridis", labels=None, label="map"):
    """Save one (H, W) array or a stack (K, H, W) as a grid of images in a PNG file.

    The panels are named and colour-barred as in ``png_figure``. The file is written whole (a
    temporary file renamed into place, with the mode a plain ``open`` would give it). Returns
    the Path, or None when matplotlib is not installed.
    """
    figure = png_figure(arrays, title, columns, cmap, labels, label)
    if figure is None:
        return None
    path = Path(path)
    _make_folder(path.parent)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(temporary, "xb") as out:
            out.write(buffer.getvalue())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path

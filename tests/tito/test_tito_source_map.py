"""Property: every line tito exports maps back to the identical line of its source."""

import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from tito.course import Course
from tito.exporter import export
from tito.format import parse_cell_marker
from tito.testing.source_map import source_of

CODE_LINE = st.sampled_from(["x = 1", "y = [1,\n     2]", "", "# note", "z = 1  # same", "if x:\n    w = 3"])
DECORATION = st.sampled_from(["### BEGIN SOLUTION", "### END SOLUTION", "", "#| export"])


@st.composite
def exported_cell(draw):
    lines = ["#| export"] + draw(st.lists(st.one_of(CODE_LINE, DECORATION), max_size=8))
    lines.append(f"value_{draw(st.integers(0, 10**6))} = {draw(st.integers(0, 9))}")
    return "\n".join(lines)


@settings(max_examples=30, deadline=None)
@given(cells=st.lists(exported_cell(), min_size=1, max_size=4), plain=st.lists(CODE_LINE, max_size=3))
def test_every_exported_line_maps_to_the_same_source_line(cells, plain):
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        folder = root / "modules" / "source" / "01_gamma"
        folder.mkdir(parents=True)
        (root / "tinytorch").mkdir()
        (root / "tinytorch" / "__init__.py").write_text("")
        body = "\n\n".join(f"# %%\n{cell}\n\n# %%\n" + "\n".join(plain) for cell in cells)
        dev = folder / "gamma_dev.py"
        dev.write_text("# %% [markdown]\n# Gamma\n\n# %%\n#| default_exp core.gamma\n\n" + body + "\n")
        generated, _ = export(Course(root).get("gamma"))
        source_lines = dev.read_text().splitlines()
        in_cell = False
        for number, text in enumerate(generated.target.read_text().splitlines(), start=1):
            if parse_cell_marker(text):
                in_cell = True
                continue
            if text.startswith("__all__"):
                break
            if not in_cell or not text.strip():
                continue
            origin = source_of(root, f"tinytorch/core/gamma.py:{number}")
            path, _, line = origin.rpartition(":")
            assert path == "modules/source/01_gamma/gamma_dev.py"
            assert source_lines[int(line) - 1] == text


def test_lines_map_by_content_when_the_package_drops_some_of_a_cells_lines(course, tito):
    """The package may leave docstring lines out (its teaching sections): the code after them
    still maps to its own source line."""
    assert tito("export", "--module", "alpha").exit_code == 0
    generated = course.generated("alpha")
    lines = [line for line in generated.read_text().splitlines() if "TODO: Multiply by two." not in line
             and "HINTS:" not in line and "np.asarray first" not in line]
    generated.write_text("\n".join(lines) + "\n")
    source = course.dev("alpha").read_text().splitlines()
    for text in ("    doubled_value_of_the_input = np.asarray(x) * 2", "    return doubled_value_of_the_input",
                 "def double(x):", "        return scaled_by_the_stored_factor"):
        where = source_of(course.root, f"tinytorch/core/alpha.py:{lines.index(text) + 1}")
        assert where == f"modules/source/01_alpha/alpha_dev.py:{source.index(text) + 1}"

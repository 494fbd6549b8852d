"""Where a test demands the wording of an error message, the function's TODO states it.

The tests may only ask what the module text asks of the student. For each function a student
writes, the messages its tests check (here with the test that checks them) must be spelled out
in its docstring's APPROACH, or come from a given helper that the APPROACH says to call.

It reads the instructor's module text (a student's source has no solution blocks), so it is a
test of the course, here, and never released with the module's tests.
"""

import ast
import functools
from pathlib import Path

import pytest
from tiny_course import flat

from tito.format import BEGIN_SOLUTION, function_spans, stub_names

from course_root import ROOT

MODULES = ROOT / "modules" / "source"  # the instructor's texts
SOURCE = MODULES / "06_cnn" / "cnn_dev.py"

STATED = {  # cnn's, for every function a student writes there
    "conv2d_naive": [  # test_naive_rejects_bad_shapes
        'ValueError(f"conv2d_naive expects a 2-D input (H, W) and a 2-D kernel (kH, kW), got shapes '
        '{image.shape} and {kernel.shape}.")',
        'ValueError(f"conv2d_naive: kernel {kernel.shape} is larger than the input {image.shape}.")',
        "_as_array(input)",  # test_naive_accepts_tensors
    ],
    "conv_output_size": [  # test_output_size_rejects_kernel_larger_than_padded_input, test_unit_conv_output_size
        'raise ValueError(f"kernel size {kernel} is larger than the padded input size {padded}")',
    ],
    "im2col": [  # test_im2col_writes_into_a_given_buffer_view
        'raise ValueError(f"im2col: out must be an array view of shape {shape}, got shape {out.shape}.")',
        '_check_fits(x.shape, (kH, kW), padding, "im2col")',
    ],
    "conv2d_forward": [  # test_fast_forward_rejects_bad_input
        'ValueError(f"conv2d_forward expects x (N, C, H, W) and weight (F, C, kH, kW) with the same C, '
        'got shapes {x.shape} and {weight.shape}.")',
        '_check_fits(x.shape, (kH, kW), padding, "conv2d_forward")',
        "`to_pair`",
    ],
    "Conv2D.__init__": [  # test_conv2d_rejects_bad_sizes
        '_check_size("in_channels", in_channels)',
        'ValueError("in_channels must be a positive int, got 0.")',
        "`to_pair`",
    ],
    "Conv2D.forward": [  # test_conv2d_rejects_bad_input, test_unit_conv2d_layer
        '_batched(x, "Conv2D")',
        'ValueError(f"Conv2D expected {self.in_channels} input channel(s), i.e. input of shape '
        '(N, {self.in_channels}, H, W) or ({self.in_channels}, H, W), got {data.shape[1]} channel(s) '
        'in input of shape {_as_array(x).shape}.")',
    ],
    "max_pool2d_forward": [  # test_pools_reject_bad_input, test_max_pool_argmax_points_at_the_maximum...
        "_pool_setup(x, ...)",
        "With `return_argmax`",
    ],
    "flatten": [  # test_flatten_rejects_1d_input
        'raise ValueError(f"flatten expects input of shape (N, ...) with at least 2 dimensions, '
        'got shape {x.shape}.")',
    ],
}


# The other modules' functions whose tests check a wording: (module text, function) -> wordings.
STATED_ELSEWHERE = {
    ("02_tensor/tensor_dev.py", "Tensor.__init__"): [  # test_integer_tensor_cannot_require_grad
        'ValueError(f"Only floating-point tensors can require gradients, got dtype {self.data.dtype}; '
        'pass dtype=np.float32 or float data.")',
    ],
    ("02_tensor/tensor_dev.py", "Tensor.__matmul__"): [  # test_matmul_mismatch_names_both_shapes, ..._of_scalar_...
        "Call the given `_check_matmul(self.shape, other.shape)`: it raises ValueError, naming both shapes, when "
        "one is a scalar", '"matmul needs tensors with at least 1 axis, got shapes () and (5,); ..."',
        '"matmul shape mismatch: (2, 3) @ (4, 5) needs ..."',
    ],
    ("02_tensor/tensor_dev.py", "Tensor.max"): [  # test_max_of_empty_is_value_error
        'ValueError(f"max() of an empty tensor (shape {self.shape}) is undefined.")',
    ],
    ("02_tensor/tensor_dev.py", "Tensor.reshape"): [  # test_reshape_mismatch_names_shapes
        'ValueError(f"Cannot reshape a tensor of shape {self.shape} ({self.size} elements) '
        'into shape {tuple(shape)}.")',
    ],
    ("02_tensor/tensor_dev.py", "Tensor.transpose"): [  # test_transpose_rejects_non_permutation
        'ValueError(f"transpose needs a permutation of all {ndim} axes of a tensor of shape '
        '{self.shape} (e.g. {tuple(reversed(range(ndim)))}), got {axes}.")',
    ],
    ("07_dataloader/dataloader_dev.py", "collate"): [  # test_empty_list_is_refused, test_items_must_be_pairs
        'ValueError("collate needs at least one (x, y) example, got an empty list")',
        'ValueError(f"collate expects (x, y) pairs, got {type(item).__name__} at position {position}")',
    ],
    ("07_dataloader/dataloader_dev.py", "TensorDataset.__getitem__"): [  # check_..._rejects_an_index_out_of_range
        'IndexError(f"index {index} is out of range for a data set of {N} samples")',
    ],
    ("08_autograd/autograd_dev.py", "backward"): [  # test_backward_on_tensor_without_graph_is_a_runtime_error
        'RuntimeError("backward() was called on a tensor that does not require grad, so no graph was '
        "recorded: create the parameters with requires_grad=True (and don't compute the loss under "
        'no_grad()).")',
    ],
    ("10_training/training_dev.py", "MSELoss.forward"): [  # test_mse_refuses_broadcasting_shapes
        'ValueError(f"MSELoss needs predictions and targets of the same shape, got {prediction.shape} '
        "and {target.shape}; reshape one of them (broadcasting would compare every prediction with "
        'every target).")',
    ],
    ("10_training/training_dev.py", "accuracy"): [  # test_accuracy_bad_input
        'ValueError("accuracy of an empty batch is undefined.")',
    ],
}


@functools.lru_cache(maxsize=None)
def functions(path: Path) -> dict:
    """{qualified name: (docstring with its whitespace runs made single spaces, source text)}."""
    text = path.read_text(encoding="utf-8")
    lines, tree = text.splitlines(), ast.parse(text)
    nodes = {node.lineno: node for node in ast.walk(tree) if isinstance(node, ast.FunctionDef)}
    return {name: (flat(ast.get_docstring(nodes[first]) or ""), "\n".join(lines[first - 1:last]))
            for first, last, name in function_spans(tree) if first in nodes}


CASES = [(SOURCE, function, wordings) for function, wordings in sorted(STATED.items())] + [
    (MODULES / text, function, wordings) for (text, function), wordings in STATED_ELSEWHERE.items()]


@pytest.mark.parametrize("source, function, wordings", CASES, ids=[f"{s.stem}:{f}" for s, f, _ in CASES])
def test_the_todo_states_the_wording_its_tests_demand(source, function, wordings):
    text = functions(source)[function][0]
    approach = text[text.index("APPROACH:"):]
    for wording in wordings:
        assert flat(wording) in approach, f"{function}'s APPROACH does not state: {wording}"


def test_every_function_to_write_is_covered():
    stubs = stub_names(SOURCE.read_text(encoding="utf-8"))
    solved = [name for name, (_, body) in functions(SOURCE).items() if BEGIN_SOLUTION in body]
    written = stubs or solved
    assert written and set(STATED) <= set(written)
    assert set(written) - set(STATED) <= {"conv2d_reference", "avg_pool2d_forward"}  # no wording demanded

"""Imports sit at the top of modules; only the optional extras are imported where used."""

import ast
import pathlib

import nnabla_nas

PACKAGE = pathlib.Path(nnabla_nas.__file__).parent
# The extras (multitrial: optuna, ray; export: onnx, onnxruntime, nnabla-converter; mpi:
# mpi4py; nnabla's NCCL communicator, with nnabla's CUDA extension) are imported where
# they are used, with an error naming the extra when missing.
OPTIONAL = (
    "optuna", "ray", "onnx", "onnxruntime", "nnabla.utils.converter", "mpi4py",
    "nnabla.communicators",
)  # fmt: skip


def imports_in_functions(path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import):
                    yield from ((inner.lineno, a.name) for a in inner.names)
                elif isinstance(inner, ast.ImportFrom):
                    yield inner.lineno, "." * inner.level + (inner.module or "")


def test_only_optional_extras_are_imported_inside_functions():
    hidden = [
        f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, name in imports_in_functions(path)
        if not name.startswith(OPTIONAL)
    ]
    assert hidden == []


def test_the_scan_sees_an_import_inside_a_function(tmp_path):
    sample = tmp_path / "m.py"
    sample.write_text("import os\n\ndef f():\n    from .config import x\n    import onnx\n")
    assert list(imports_in_functions(sample)) == [(4, ".config"), (5, "onnx")]

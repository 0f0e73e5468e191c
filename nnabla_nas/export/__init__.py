"""Export of a network for deployment: nnabla's NNP format and ONNX.

`export_nnp` saves the inference graph of a `Module` (BN with its running statistics, no
dropout or drop path) with its parameters as an ``.nnp`` file that
``nnabla.utils.nnp_graph.NnpLoader`` reads; `export_onnx` converts that NNP with
nnabla-converter and corrects the padded average poolings it gets wrong (see
`fix_average_pools`). A network in, a file out: rebuilding the network of a run folder is
the application's (`nnabla_nas.app.export_run`).

The graph takes one input named ``x`` and returns one output named ``y``; its functions
(NNP) and nodes (ONNX) are named after the modules that made them, as in TensorBoard's
graph. The batch size is fixed, or in ONNX the symbol ``batch`` (`make_batch_dynamic`).
Both formats carry key/value metadata (`file_metadata`, `read_metadata`). ONNX export
needs the ``export`` extra and nnabla-converter, which is installed without its
dependencies (they are TensorFlow's, which the ONNX path never imports)::

    pip install 'nnabla-nas[export]'
    pip install --no-deps nnabla-converter==1.39.0

Example:
    >>> from nnabla_nas.contrib.darts.genotype import DARTS_V2
    >>> from nnabla_nas.contrib.darts.network import TrainNet
    >>> net = TrainNet(1, 4, 3, 10, DARTS_V2)
    >>> export_onnx(net, (1, 1, 8, 8), "model.onnx", dynamic_batch=True)
    'model.onnx'
"""

from .batch import make_batch_dynamic
from .convert import DEFAULT_OPSET, ONNX_OPSETS, export_onnx, onnx_converter
from .formats import FORMATS, export, infer_format
from .metadata import BATCH, INPUT_NAME, OUTPUT_NAME, file_metadata, read_metadata
from .nnp import export_nnp
from .pools import fix_average_pools

__all__ = [
    "BATCH",
    "DEFAULT_OPSET",
    "FORMATS",
    "INPUT_NAME",
    "ONNX_OPSETS",
    "OUTPUT_NAME",
    "export",
    "export_nnp",
    "export_onnx",
    "file_metadata",
    "fix_average_pools",
    "infer_format",
    "make_batch_dynamic",
    "onnx_converter",
    "read_metadata",
]

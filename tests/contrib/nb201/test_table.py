import gzip
import shutil

import numpy as np
import pytest

from nnabla_nas.contrib.nb201.arch import all_archs, arch_from_index, arch_index, parse_arch
from nnabla_nas.contrib.nb201.table import DEFAULT_PATH, NB201Table

# Values copied from nb201_cifar10_accuracy_latency.csv.
ROW_0 = (
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|"
    "+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
)
ROW_1 = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|"
    "+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
)
BEST = (
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|"
    "+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|"
)
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


@pytest.fixture(scope="module")
def table():
    return NB201Table.load()


def test_size_and_devices(table):
    assert len(table) == 15625
    devices = table.devices()
    assert len(devices) == 27
    assert devices[:3] == ["1080ti_1", "1080ti_256", "1080ti_32"]
    assert {"raspi4", "pixel3", "eyeriss", "fpga", "gold_6240"} <= set(devices)


@pytest.mark.parametrize(
    "arch, nb201, accuracy, latencies",
    [
        (ROW_0, 0, 85.9708, {"raspi4": 10.482, "1080ti_1": 10.754, "fpga": 2.573}),
        (ROW_1, 1, 93.2956, {"raspi4": 54.777, "pixel3": 17.238, "eyeriss": 7.5778}),
        (BEST, 13714, 94.0664, {"raspi4": 69.763, "1080ti_1": 14.576, "titanxp_32": 13.058}),
        (ALL_NONE, 1651, 10.0, {"raspi4": 0.011827, "pixel3": 0.0040147}),
    ],
)
def test_known_values(table, arch, nb201, accuracy, latencies):
    assert table.accuracy(arch) == pytest.approx(accuracy, abs=1e-9)
    for device, value in latencies.items():
        assert table.latency(arch, device) == pytest.approx(value, abs=1e-9)
    info = table.query(arch)
    assert info["arch"] == arch and info["nb201_index"] == nb201
    assert info["accuracy"] == table.accuracy(arch)
    assert info["latency_ms"] == {d: table.latency(arch, d) for d in table.devices()}


def test_every_arch_form_gives_the_same_answer(table):
    ops = parse_arch(ROW_1)
    record = {"arch": ROW_1, "ops": list(ops)}
    assert table.accuracy(ops) == table.accuracy(list(ops)) == table.accuracy(record) == 93.2956


def test_vectors_follow_arch_index(table):
    assert table.archs == all_archs()
    lat = table.latencies("raspi4")
    assert table.accuracies.shape == lat.shape == (15625,)
    for i in (0, 1, 777, 15624):
        assert table.archs[i] == arch_from_index(i)
        assert table.accuracies[i] == table.accuracy(arch_from_index(i))
        assert lat[i] == table.latency(arch_from_index(i), "raspi4")
    assert sorted(table.nb201_indices.tolist()) == list(range(15625))


def test_arrays_are_read_only(table):
    with pytest.raises(ValueError):
        table.accuracies[0] = 100.0
    with pytest.raises(ValueError):
        table.latencies("raspi4")[0] = 0.0


def test_load_is_cached(table):
    assert NB201Table.load() is table
    assert NB201Table.load(DEFAULT_PATH) is table


def test_unknown_device(table):
    with pytest.raises(ValueError, match=r"unknown device 'raspi5'; valid devices: 1080ti_1, "):
        table.latency(BEST, "raspi5")
    with pytest.raises(ValueError, match=r"unknown device"):
        table.best("raspi5")


def test_best_unconstrained(table):
    arch, accuracy = table.best()
    assert arch == parse_arch(BEST)
    assert accuracy == pytest.approx(94.0664)
    assert accuracy == table.accuracies.max()


@pytest.mark.parametrize("device", ["raspi4", "pixel3", "fpga", "1080ti_256"])
@pytest.mark.parametrize("quantile", [0.01, 0.1, 0.5])
def test_best_under_latency_is_feasible_and_optimal(table, device, quantile):
    lat = table.latencies(device)
    budget = float(np.quantile(lat, quantile))
    arch, accuracy = table.best(device, max_latency=budget)
    assert table.latency(arch, device) <= budget
    assert accuracy == table.accuracy(arch)
    assert not np.any((lat <= budget) & (table.accuracies > accuracy))
    better = table.accuracies > accuracy
    assert np.all(lat[better] > budget)
    assert arch_index(arch) == np.flatnonzero((lat <= budget) & (table.accuracies == accuracy))[0]


def test_best_errors(table):
    with pytest.raises(ValueError, match="needs the device"):
        table.best(max_latency=5.0)
    with pytest.raises(ValueError, match=r"no architecture runs within 0.001 ms on 'raspi4'; the "
                       r"fastest takes 0.011284 ms"):  # fmt: skip
        table.best("raspi4", max_latency=0.001)


def plain_rows():
    with gzip.open(DEFAULT_PATH, "rt", encoding="utf-8") as f:
        return f.read().splitlines()


def set_field(row, index, value):
    fields = row.split(",")
    fields[index] = value
    return ",".join(fields)


def write(path, lines):
    path.write_text("".join(line + "\n" for line in lines))
    return str(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"table '.*missing\.csv\.gz' does not exist"):
        NB201Table(str(tmp_path / "missing.csv.gz"))


def test_corrupt_gzip(tmp_path):
    path = tmp_path / "t.csv.gz"
    path.write_bytes(b"not gzip at all")
    with pytest.raises(ValueError, match="is corrupt"):
        NB201Table(str(path))
    with open(DEFAULT_PATH, "rb") as f:
        path.write_bytes(f.read()[:5000])
    with pytest.raises(ValueError, match="is corrupt"):
        NB201Table(str(path))


def test_plain_csv_copy_loads(tmp_path):
    path = tmp_path / "t.csv"
    with gzip.open(DEFAULT_PATH, "rb") as src, open(path, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert NB201Table(str(path)).accuracy(BEST) == 94.0664


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda rows: rows[:-1], r"has 15624 rows; the space has 15625"),
        (lambda rows: [], r"is empty"),
        (lambda rows: ["a,b,c", *rows[1:]], r"expected columns nb201_index, arch_str"),
        (lambda rows: [*rows[:-1], rows[1]],
         r"line 15626: architecture '\|avg_pool.*appears twice"),
        (lambda rows: [*rows[:2], rows[2].replace("~0|", "~1|", 1), *rows[3:]],
         r"line 3: architecture string .* must come from node 0"),
        (lambda rows: [*rows[:2], rows[2] + ",1.0", *rows[3:]], r"line 3: expected 30 fields"),
        (lambda rows: [*rows[:2], set_field(rows[2], 2, "nan"), *rows[3:]],
         r"line 3: a value is not a finite number"),
        (lambda rows: [*rows[:2], set_field(rows[2], 5, "fast"), *rows[3:]],
         r"line 3: could not convert string to float: 'fast'"),
    ],
)  # fmt: skip
def test_invalid_table(tmp_path, edit, message):
    path = write(tmp_path / "t.csv", edit(plain_rows()))
    with pytest.raises(ValueError, match=message):
        NB201Table(path)

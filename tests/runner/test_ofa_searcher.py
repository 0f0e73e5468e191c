"""OFASearcher: phases over the epochs, the sizes each phase draws, the accumulated update,
distillation from the frozen largest network, the channel sort at the expand phase,
config errors, exact resume and the built-in config end to end."""

import csv
import json
import os
import shutil

import nnabla as nn
import nnabla.functions as F
import numpy as np
import pytest
import yaml

from nnabla_nas.app.report import write_report
from nnabla_nas.app.run import RunFolder
from nnabla_nas.cli import main
from nnabla_nas.contrib.ofa import OFASupernet
from nnabla_nas.dataset import ArrayDataset, DataLoader
from nnabla_nas.module import read_parameters
from nnabla_nas.optimizer import Optimizer
from nnabla_nas.runner.loop import Loop
from nnabla_nas.runner.searcher import SEARCHERS, OFASearcher, OFASettings
from nnabla_nas.runner.searcher.ofa import Phase, batch_statistics, schedule
from nnabla_nas.utils.checkpoint import Checkpointer

SHAPE = (1, 8, 8)


def supernet():
    return OFASupernet(1, 10, settings="digits", width_mult=0.25, rng=0)


def searcher(phases, *, distill=0.0, subnets=2, solver="sgd", model=None):
    model = supernet() if model is None else model
    opt = Optimizer(model.get_net_parameters(grad_only=True), solver, 0.1)
    settings = OFASettings(phases=phases, distill=distill, subnets_per_step=subnets)
    return OFASearcher(model, opt, settings=settings)


def batch(seed=0, n=16):
    rng = np.random.default_rng(seed)
    return rng.random((n, *SHAPE), dtype=np.float32), rng.integers(0, 10, (n, 1))


def sizes_of(arch):
    stages = arch["stages"]
    return (
        {b["kernel"] for s in stages for b in s["blocks"]},
        {s["depth"] for s in stages},
        {b["expand"] for s in stages for b in s["blocks"]},
    )


PS = [Phase("full", 2), Phase("kernel", 1), Phase("depth", 1, depths=[3, 4]),
      Phase("depth", 1), Phase("expand", 2)]  # fmt: skip


def test_the_registry_names_it_with_its_settings():
    assert SEARCHERS["ofa"] is OFASearcher and OFASearcher.Settings is OFASettings
    assert not OFASearcher.learns_alphas and not OFASearcher.data_parallel
    assert OFASearcher.spaces == ("ofa",)
    assert sum(p.epochs for p in OFASettings().phases) == 10  # the default epochs


def test_phases_map_to_epochs_with_the_sizes_opened_so_far():
    stages = schedule(PS, {"kernels": (3, 5, 7), "depths": (2, 3, 4), "expand_ratios": (3, 4, 6)})
    s = searcher(PS)
    by_epoch = [s.stage_at(e) for e in range(7)]
    assert [st.name for st in by_epoch] == ["full", "full", "kernel", "depth", "depth", "expand",
                                             "expand"]  # fmt: skip
    assert [st.index for st in by_epoch] == [0, 0, 1, 2, 3, 4, 4]
    assert [(st.first, st.end) for st in stages] == [(0, 2), (2, 3), (3, 4), (4, 5), (5, 7)]
    assert [st.sizes() for st in stages] == [
        {"kernels": (7,), "depths": (4,), "expand_ratios": (6,)},
        {"kernels": (3, 5, 7), "depths": (4,), "expand_ratios": (6,)},
        {"kernels": (3, 5, 7), "depths": (3, 4), "expand_ratios": (6,)},
        {"kernels": (3, 5, 7), "depths": (2, 3, 4), "expand_ratios": (6,)},
        {"kernels": (3, 5, 7), "depths": (2, 3, 4), "expand_ratios": (3, 4, 6)},
    ]


def test_sampled_subnets_keep_to_the_sizes_of_their_phase():
    s = searcher(PS, subnets=3)
    seen = {}
    for epoch in range(7):
        s.start_epoch(epoch, np.random.default_rng(epoch))
        drawn = [a for _ in range(10) for a in s.step_archs()]
        assert len(drawn) == (10 if epoch < 2 else 30)  # the full phase: the largest once
        if epoch < 2:
            assert all(a == s.supernet.max_arch() for a in drawn)
        k, d, e = (set().union(*c) for c in zip(*map(sizes_of, drawn), strict=True))
        seen[epoch] = (k, d, e)
    assert seen[0] == seen[1] == ({7}, {4}, {6})
    assert seen[2] == ({3, 5, 7}, {4}, {6})
    assert seen[3] == ({3, 5, 7}, {3, 4}, {6})
    assert seen[4] == ({3, 5, 7}, {2, 3, 4}, {6})
    assert seen[5] == ({3, 5, 7}, {2, 3, 4}, {3, 4, 6})


def function_names(variable):
    names = []
    variable.visit(lambda f: names.append(f.info.type_name))
    return names


def test_every_phase_trains_at_resolutions_drawn_from_those_offered():
    model = OFASupernet(1, 10, settings="digits", width_mult=0.25, resolutions=[6, 8], rng=0)
    s = searcher([Phase("full", 1), Phase("kernel", 1)], model=model)
    x, y = batch()
    for epoch in range(2):
        s.start_epoch(epoch, np.random.default_rng(epoch))
        drawn = {a["resolution"] for _ in range(10) for a in s.step_archs()}
        assert drawn == {6, 8}
        s.train_on_batch({"train": (x, y)})
        for arch in s.sampled:  # each graph at its sub-network's side
            graph = s.subnet_graph(arch, x.shape, training=True)
            assert ("Interpolate" in function_names(graph.loss)) == (arch["resolution"] == 6)
    assert s.supernet.max_arch()["resolution"] == 8 and s.teacher is None


def test_one_update_per_step_is_the_sum_of_the_subnets_gradients():
    s = searcher([Phase("full", 1), Phase("depth", 1)], subnets=2)
    s.start_epoch(1, np.random.default_rng(3))
    ref = supernet()
    start = {k: p.d.copy() for k, p in s.model.get_parameters().items()}
    x, y = batch()
    metrics = s.train_on_batch({"train": (x, y)})
    assert s.optimizers["weights"].iteration == 1 and len(s.sampled) == 2
    assert len({json.dumps(a) for a in s.sampled}) == 2
    # By hand: the two sub-networks' gradients on the same batch, summed, one SGD step.
    params = ref.get_net_parameters(grad_only=True)
    for p in params.values():
        p.grad.zero()
    losses = []
    for arch in s.sampled:
        ref.set_active(arch)
        xv, yv = nn.Variable.from_numpy_array(x), nn.Variable.from_numpy_array(y)
        with ref.modes(training=True):
            loss = F.mean(F.softmax_cross_entropy(ref(xv), yv))
        loss.forward()
        loss.backward()  # adds to the gradients
        losses.append(float(loss.d))
    assert metrics["loss"] == pytest.approx(np.mean(losses), rel=1e-5)
    after = s.model.get_parameters()
    for key, p in ref.get_parameters().items():
        expected = p.d - 0.1 * p.g if key in params else p.d  # running statistics: as run
        np.testing.assert_allclose(after[key].d, expected, rtol=1e-4, atol=1e-6, err_msg=key)
    assert any(not np.array_equal(start[k], after[k].d) for k in params)


def test_distillation_adds_the_soft_cross_entropy_to_the_frozen_largest_network():
    phases = [Phase("full", 1), Phase("kernel", 1)]
    with_kd, without = searcher(phases, distill=0.5), searcher(phases, distill=0.0)
    for s in (with_kd, without):
        s.start_epoch(0, np.random.default_rng(0))
        s.train_on_batch({"train": batch(1)})  # the full phase trains the largest alone
        assert s.teacher is None and s.sampled == [s.supernet.max_arch()]
        s.start_epoch(1, np.random.default_rng(1))
    assert without.teacher is None
    teacher = with_kd.teacher
    x = nn.Variable.from_numpy_array(batch(2)[0])
    with batch_statistics(teacher):
        t_out = teacher(x)
    with_kd.supernet.set_active(with_kd.supernet.max_arch())
    with batch_statistics(with_kd.supernet):
        s_out = with_kd.supernet(x)
    F.sink(t_out, s_out).forward()
    np.testing.assert_allclose(t_out.d, s_out.d, rtol=1e-5, atol=1e-6)  # a copy of it
    frozen = {k: p.d.copy() for k, p in teacher.get_parameters().items()}
    a = with_kd.train_on_batch({"train": batch(3)})
    b = without.train_on_batch({"train": batch(3)})
    assert with_kd.sampled == without.sampled
    assert "distill_loss" in a and "distill_loss" not in b and a["distill_loss"] > 0
    assert a["loss"] == pytest.approx(b["loss"] + 0.5 * a["distill_loss"], rel=1e-5)
    for key, p in teacher.get_parameters().items():
        np.testing.assert_array_equal(p.d, frozen[key], err_msg=key)  # the teacher stays
    s_out.forward()
    assert not np.allclose(s_out.d, t_out.d)  # while the supernet learns


def test_channels_are_sorted_once_at_the_expand_phase_and_keep_the_largest_function():
    s = searcher([Phase("full", 1), Phase("kernel", 1), Phase("expand", 2)], solver="momentum")
    s.start_epoch(0, np.random.default_rng(0))
    s.train_on_batch({"train": batch(1)})
    s.start_epoch(1, np.random.default_rng(1))
    s.train_on_batch({"train": batch(2)})
    states = s.optimizers["weights"]._solver.get_states()
    assert any(np.abs(st.pstate["m"].d).sum() > 0 for st in states.values())
    sup = s.supernet
    sup.set_active(sup.max_arch())
    x = nn.Variable.from_numpy_array(batch(3)[0])
    with sup.modes(training=False):
        out = sup(x)
    out.forward()
    before = out.d.copy()
    expand_w = sup.blocks(0)[0]._expand._W.d.copy()
    assert s.sorted_at == []
    s.start_epoch(2, np.random.default_rng(2))
    assert s.sorted_at == [2]
    assert not np.array_equal(sup.blocks(0)[0]._expand._W.d, expand_w)  # permuted
    out.forward()
    np.testing.assert_allclose(out.d, before, rtol=1e-4, atol=1e-5)
    states = s.optimizers["weights"]._solver.get_states()
    assert all(np.abs(st.pstate["m"].d).sum() == 0 for st in states.values())  # reset
    s.start_epoch(3, np.random.default_rng(3))
    assert s.sorted_at == [2]


# -- resume -------------------------------------------------------------------------------

RESUME = [Phase("full", 1), Phase("kernel", 1), Phase("expand", 2)]


def digits_loader(seed, n=16, batch_size=16):
    rng = np.random.default_rng(seed)
    data = ArrayDataset(rng.random((n, *SHAPE)).astype(np.float32), rng.integers(0, 10, n),
                        classes=10)  # fmt: skip
    return DataLoader(data, batch_size, shuffle=True, seed=seed)


def run_loop(folder, resume=False):
    s = searcher(RESUME, distill=1.0, subnets=1, solver="momentum")
    loop = Loop(s, {"train": digits_loader(0)}, epochs=4, eval_loader=digits_loader(1),
                checkpointer=Checkpointer(folder, keep=10), seed=0, progress=False,
                log=False)  # fmt: skip
    loop.run(resume=resume)
    return s


def test_a_run_resumed_after_any_epoch_ends_with_the_same_weights(tmp_path):
    full = run_loop(str(tmp_path / "full"))
    assert full.sorted_at == [2]
    final = {k: p.d.copy() for k, p in full.model.get_parameters().items()}
    for k in (1, 2, 3):  # before the teacher, before the sort, after the sort
        part = tmp_path / f"part{k}"
        os.makedirs(part)
        for e in range(1, k + 1):
            shutil.copytree(tmp_path / "full" / f"epoch_{e:04d}", part / f"epoch_{e:04d}")
        (part / "latest.json").write_text(json.dumps({"latest": f"epoch_{k:04d}"}))
        resumed = run_loop(str(part), resume=True)
        assert resumed.sorted_at == ([2] if k < 3 else []), k
        for key, p in resumed.model.get_parameters().items():
            np.testing.assert_array_equal(p.d, final[key], err_msg=f"resumed at {k}: {key}")


# -- the application ----------------------------------------------------------------------

TINY = ["dataset.test_fraction=0.95", "dataset.batch_size=32", "model.width_mult=0.25",
        "epochs=4", "ofa.phases=[{name: full, epochs: 1}, {name: kernel, epochs: 1}, "
        "{name: depth, epochs: 1}, {name: expand, epochs: 1}]"]  # fmt: skip


def test_the_builtin_config_runs_end_to_end(tmp_path):
    out = str(tmp_path / "run")
    args = ["search", "-c", "ofa-digits-search", "-o", out, "--no-progress", *TINY,
            "ofa.front=5"]  # fmt: skip
    assert main(args) == 0
    arch = json.load(open(f"{out}/arch.json"))
    assert arch == supernet().max_arch()  # the largest network; specialise later
    weights = read_parameters(f"{out}/weights.h5")
    assert any(k.startswith("_stages/") for k in weights)
    header = open(f"{out}/metrics.csv").read().splitlines()[0]
    assert "valid/min_error" in header and "train/distill_loss" in header
    log = open(f"{out}/log.txt").read()
    assert log.count("sorted the expanded channels") == 1
    config = yaml.safe_load(open(f"{out}/config.yaml"))
    assert [p["name"] for p in config["ofa"]["phases"]] == ["full", "kernel", "depth", "expand"]
    # The front of the sub-networks: a random search of the finished supernet, reported.
    front = RunFolder(f"{out}/subnets")
    assert front.manifest().status == "finished" and front.manifest().searcher == "random"
    with open(front.file("trials")) as f:
        trials = list(csv.DictReader(f))
    assert len(trials) == 5
    assert all(0 <= float(t["accuracy"]) <= 100 and float(t["latency"]) > 0 for t in trials)
    with open(front.file("pareto_csv")) as f:
        assert len(f.read().splitlines()) >= 2  # a header and at least one sub-network
    page = open(write_report(out)).read()
    section = page.split('<section id="subnets">')[1].split("</section>")[0]
    assert "nnabla-nas specialize" in section and "data:image/png" in section  # the front
    assert "Pareto front (pareto.csv" in section
    # Resumed after it finished: the front is kept, not scored again.
    stamp = os.path.getmtime(front.file("trials"))
    assert main(["search", "-c", "ofa-digits-search", "-o", out, "--no-progress", "--resume",
                 *TINY, "ofa.front=5"]) == 0  # fmt: skip
    assert os.path.getmtime(front.file("trials")) == stamp


def one_error_line(capsys):
    out, err = capsys.readouterr()
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nnabla-nas: error: "), err
    assert out == ""
    return lines[0]


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (["epochs=3"], "config.ofa: the phases last 20 epochs but epochs is 3; set epochs: 20"),
        (["epochs=2", "ofa.phases=[{name: full, epochs: 1}, {name: width, epochs: 1}]"],
         "config.ofa.phases[1].name: unknown value 'width'; valid values are: full, kernel"),
        (["epochs=2", "ofa.phases=[{name: full, epochs: 2}]"],
         "distill: the full phase has no sub-network to distil into; set distill: 0"),
        (["epochs=2", "ofa.phases=[{name: kernel, epochs: 1}, {name: full, epochs: 1}]"],
         "starts with the largest network: begin with {name: full, epochs: N}"),
        (["epochs=2", "ofa.phases=[{name: full, epochs: 1}, {name: depth, epochs: 1, "
          "depths: [2, 3]}]"], "phases[1].depths: [2, 3] drops sizes an earlier phase"),
        (["epochs=2", "ofa.phases=[{name: full, epochs: 1}, {name: kernel, epochs: 1, "
          "depths: [3, 4]}]"], "phases[1]: depths: a kernel phase takes kernels only"),
        (["epochs=2", "model.kernels=[3, 7]", "ofa.phases=[{name: full, epochs: 1}, "
          "{name: kernel, epochs: 1, kernels: [5, 7]}]"],
         "phases[1].kernels: [5, 7] not all offered; the supernet offers [3, 7]"),
    ],
)  # fmt: skip
def test_bad_ofa_settings_are_one_line_before_anything_is_written(
    tmp_path, capsys, overrides, message
):
    out = tmp_path / "run"
    args = ["search", "-c", "ofa-digits-search", "-o", str(out), *overrides]
    assert main(args) == 2
    assert message in one_error_line(capsys)
    assert not out.exists()


def test_the_ofa_searcher_refuses_another_space(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(yaml.safe_dump({"searcher": "ofa", "model": {"name": "darts"}}))
    out = tmp_path / "run"
    assert main(["search", "-c", str(config), "-o", str(out)]) == 2
    line = one_error_line(capsys)
    assert "searcher 'ofa' trains the ofa space only, not 'darts'; set model.name: ofa" in line
    assert not out.exists()
    with pytest.raises(ValueError, match=r"set model\.name: ofa"):
        OFASearcher(object(), Optimizer({"w": nn.Variable((1,), need_grad=True)}))

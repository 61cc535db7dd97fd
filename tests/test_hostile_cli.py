"""Hostile input, failed writes and races through the real command (issue 14): one line on stderr, a
non-zero exit, no traceback; two real processes for the races; SIGKILL and SIGTERM leftovers."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import simulator


def cli(*args, cwd=None, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "faces.cli", "--lang", "en", *map(str, args)], capture_output=True,
                          text=True, check=False, cwd=cwd, env=env, timeout=120)


def refused(proc: subprocess.CompletedProcess, message: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jinan-sd: error: "), proc.stderr
    assert message in lines[0], lines[0]


def start(*args, cwd=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "faces.cli", "--lang", "en", *map(str, args)], cwd=cwd,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.mark.parametrize("args, message", [
    (["mc", "baseline", "--n", 10**9], "--n: 1,000,000,000 runs need about"),
    (["mc", "baseline", "--n", 2**63], "--n = 9223372036854775808 is too large"),
    (["mc", "baseline", "--n", 50, "--chunk-size", 0], "--chunk-size must be at least 1, got 0"),
    (["mc", "baseline", "--n", 50, "--scheduler", "not a url"], "--scheduler 'not a url': not a scheduler address"),
    (["mc", "baseline", "--n", 50, "--out", ""], "--out: empty; give a file or folder name"),
    (["run", "baseline", "--out", ""], "--out: empty; give a file or folder name"),
    (["sensitivity", "baseline", "--n", 2**40], "--n: 1099511627776 (x"),
    (["discover", "{tmp}", "--target", "x", "--step", -5], "--step must be a whole number of at least 0, got -5"),
    (["discover", "{tmp}", "--target", "x", "--boxes", 0], "--boxes must be a whole number of at least 1, got 0"),
    (["discover", "{tmp}", "--target", "x", "--depth", -1], "--depth must be a whole number of at least 1, got -1"),
    (["discover", "{tmp}", "--target", "x", "--boxes", 0, "--out", "{tmp}/d"], "--boxes must be a whole number"),
])
def test_bad_arguments_are_one_line(tmp_path, capsys, args, message):
    from faces.cli.main import main

    started = time.perf_counter()
    code = main(["--lang", "en", *[str(a).replace("{tmp}", str(tmp_path)) for a in args]])
    err = capsys.readouterr().err
    refused(subprocess.CompletedProcess(args, code, "", err), message)
    assert time.perf_counter() - started < 10  # refused up front, not after the runs


def test_mc_10_7_is_refused_before_any_run(tmp_path):
    started = time.perf_counter()
    refused(cli("mc", "baseline", "--n", 10**7, "--out", tmp_path / "big"), "--n: 10,000,000 runs need about")
    assert time.perf_counter() - started < 20
    assert list(tmp_path.iterdir()) == []


def test_discover_on_a_damaged_ensemble_folder(tmp_path, capsys):
    from simulator.analysis.ensemble import run_ensemble

    good = run_ensemble("baseline", n=20).save(tmp_path / "good")
    for name, damage, message in [("samples.parquet", b"PAR1 not really", "samples.parquet: damaged or not a parquet"),
                                  ("manifest.json", b"{ cut", "manifest.json: damaged")]:
        bad = tmp_path / f"bad-{name}"
        bad.mkdir()
        for file in good.iterdir():
            (bad / file.name).write_bytes(file.read_bytes())
        (bad / name).write_bytes(damage)
        from faces.cli.main import main

        code = main(["discover", str(bad), "--target", "gdp_2025"])
        refused(subprocess.CompletedProcess([], code, "", capsys.readouterr().err), message)
    refused(cli("discover", bad, "--target", "gdp_2025"), message)


def test_upload_style_probe_and_relative_extends_from_the_cli(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "base.toml").write_text("[levers]\ninvestment_rate = 0.61\n")
    (tmp_path / "sub" / "child.toml").write_text('extends = "base.toml"\n')
    proc = cli("run", "sub/child.toml", "--out", "r.csv", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    provenance = json.loads((tmp_path / "r.provenance.json").read_text())
    assert provenance["scenario"] == "child"
    (tmp_path / "sub" / "lost.toml").write_text('extends = "missing/base.toml"\n')
    refused(cli("run", "sub/lost.toml", cwd=tmp_path), "lost.toml: extends 'missing/base.toml': scenario file not")


def test_hostile_toml_from_the_cli(tmp_path, capsys):
    from faces.cli.main import main

    cases = {"deep.toml": "x = " + "[" * 100_000 + "]" * 100_000 + "\n",
             "inline.toml": "x = " + "{a = " * 5000 + "1" + "}" * 5000 + "\n",
             "sources.toml": 'sources = "x"\n',
             "cal.toml": 'use_calibration = "false"\n'}
    messages = {"deep.toml": "arrays or tables nested deeper than 32", "inline.toml": "arrays or tables nested deeper",
                "sources.toml": "[sources] must be a table", "cal.toml": "'use_calibration' must be true or false"}
    for name, text in cases.items():
        (tmp_path / name).write_text(text)
        code = main(["run", str(tmp_path / name)])
        refused(subprocess.CompletedProcess([], code, "", capsys.readouterr().err), f"{name}: {messages[name]}")
    refused(cli("run", tmp_path / "deep.toml"), "deep.toml: arrays or tables nested deeper than 32")


def test_two_mc_to_the_same_out_second_fails_and_first_is_whole(tmp_path):
    out = tmp_path / "ens"
    first, second = start("mc", "baseline", "--n", 300, "--out", out), start("mc", "baseline", "--n", 300,
                                                                             "--out", out)
    results = [(p, *p.communicate(timeout=180)) for p in (first, second)]
    codes = sorted(p.returncode for p, _, _ in results)
    assert codes == [0, 2], [(p.returncode, err) for p, _, err in results]
    loser_out, loser = next((out, err) for p, out, err in results if p.returncode == 2)
    assert "already exists" in loser and "Traceback" not in loser
    assert loser_out == ""  # refused before running (the folder is claimed first), not after the runs
    from simulator.analysis.ensemble import load_ensemble

    assert load_ensemble(out).manifest["n"] == 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ens"]


def _wait_for_partial(folder: Path, proc: subprocess.Popen, timeout: float = 60) -> Path:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = list(folder.glob(f".ens.partial-{proc.pid}"))
        if found:
            return found[0]
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("no partial folder appeared")


def test_sigterm_leaves_nothing_behind(tmp_path):
    proc = start("mc", "baseline", "--n", 20000, "--out", tmp_path / "ens")
    _wait_for_partial(tmp_path, proc)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0 and "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_sigkill_leftovers_are_cleaned_by_the_next_run(tmp_path):
    proc = start("mc", "baseline", "--n", 20000, "--out", tmp_path / "ens")
    partial = _wait_for_partial(tmp_path, proc)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    assert partial.exists() and (tmp_path / "ens").is_dir()
    proc = cli("mc", "baseline", "--n", 20, "--out", tmp_path / "ens")
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ens"]
    assert (tmp_path / "ens" / "manifest.json").is_file()


def test_report_refuses_an_existing_folder_unless_force(tmp_path, capsys, monkeypatch):
    from faces.cli.main import main

    out = tmp_path / "rep"
    out.mkdir()
    (out / "old.txt").write_text("mine")
    refused(cli("report", "baseline", "--out", out), "already exists (choose another folder, or --force")
    assert [p.name for p in out.iterdir()] == ["old.txt"]
    (tmp_path / "sc").mkdir()
    (tmp_path / "sc" / "x.toml").write_text("[levers]\ninvestment_rate = 0.6\n")
    monkeypatch.chdir(tmp_path)
    assert main(["report", "sc/x.toml", "--out", str(out), "--force"]) == 0, capsys.readouterr().err
    names = sorted(p.name for p in out.iterdir())
    assert "old.txt" not in names and "run_x.csv" in names and "tables.xlsx" in names
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep", "sc"]


def test_run_keeps_the_old_file_when_the_new_one_cannot_be_written(tmp_path):
    keep = tmp_path / "keep.xlsx"
    simulator.run("baseline").to_file(keep)
    before = keep.read_bytes()
    bad = tmp_path / "bad\x01name.toml"
    bad.write_text("[levers]\ninvestment_rate = 0.6\n")
    refused(cli("run", bad, "--out", keep), "keep.xlsx: cannot write")
    assert keep.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["keep.xlsx", bad.name])


def test_a_damaged_calibration_file_is_refused(tmp_path):
    import shutil

    root = tmp_path / "project"
    source = simulator.Project.default().root
    for part in ("models", "scenarios", "calibration"):
        shutil.copytree(source / part, root / part)
    shutil.copy(source / "app.py", root / "app.py")
    text = (root / "calibration" / "calibrated.toml").read_text(encoding="utf-8")
    (root / "calibration" / "calibrated.toml").write_text(text[: len(text) // 2].rsplit("\n[", 1)[0] + "\n")
    code = ("import sys; import simulator; p = simulator.Project(__import__('pathlib').Path(sys.argv[1]));"
            "simulator.run('baseline', project=p)")
    proc = subprocess.run([sys.executable, "-c", code, str(root)], capture_output=True, text=True, check=False,
                          env={**os.environ})
    assert proc.returncode != 0
    assert "calibrated.toml: incomplete or damaged calibration file" in proc.stderr

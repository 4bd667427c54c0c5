"""Options of the CLI: config files, precedence of the command line, ``--opt`` values, entry points."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

from napari_scribbleseg import __version__
from napari_scribbleseg.cli import build_parser
from napari_scribbleseg.cli.options import load_config_file, merge_options, parse_method_options, require
from napari_scribbleseg.errors import ConfigError


def test_command_line_wins_over_the_config_file(tmp_path):
    cfg = tmp_path / "c.toml"
    cfg.write_text('method = "crf"\ntime-budget = 30\nout = "from-file"\n')
    args = build_parser().parse_args(["train", "img", "--method", "pce", "--config", str(cfg)])
    opts = merge_options(args, load_config_file(args.config))
    assert opts["method"] == "pce"  # given on the command line
    assert opts["time_budget"] == 30 and opts["out"] == "from-file"  # unset flags keep the file's value
    assert opts["images"] == ["img"] and opts["quiet"] is False


def test_config_file_errors(tmp_path):
    assert load_config_file(None) == {}
    with pytest.raises(ConfigError, match="not found"):
        load_config_file(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(ConfigError, match="mapping"):
        load_config_file(str(bad))
    bad.write_text("{")
    with pytest.raises(ConfigError, match="cannot parse"):
        load_config_file(str(bad))


def test_toml_config_without_tomllib_uses_tomli(tmp_path, monkeypatch):
    # Python 3.10 has no tomllib: the tomli backport (a dependency there) reads the file instead
    cfg = tmp_path / "c.toml"
    cfg.write_text('method = "crf"\n')
    fake_tomli = types.ModuleType("tomli")
    fake_tomli.loads = lambda text: {"time-budget": 30, "text": text}
    monkeypatch.setitem(sys.modules, "tomllib", None)  # makes ``import tomllib`` fail
    monkeypatch.setitem(sys.modules, "tomli", fake_tomli)
    assert load_config_file(str(cfg)) == {"time_budget": 30, "text": 'method = "crf"\n'}
    monkeypatch.setitem(sys.modules, "tomli", None)
    with pytest.raises(ConfigError, match=r"c.toml: reading a .toml config on Python < 3.11 needs the tomli"):
        load_config_file(str(cfg))


def test_method_options_parse_json_values_and_keep_strings():
    opts = parse_method_options(["a1=0.5", "flag=true", "bounds=ring=1-2", " name = x"], {"a1": 1, "b": 2})
    assert opts == {"a1": 0.5, "flag": True, "bounds": "ring=1-2", "name": " x", "b": 2}
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_method_options(["novalue"], {})


def test_require_names_the_missing_flags():
    require({"out": "x"}, "out")
    with pytest.raises(ConfigError, match="--model, --full-masks"):
        require({"out": "x", "model": None}, "out", "model", "full_masks")


@pytest.mark.slow  # a new interpreter importing the package
def test_python_dash_m_runs_the_cli():
    out = subprocess.run(
        [sys.executable, "-m", "napari_scribbleseg", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == f"scribbleseg {__version__}"

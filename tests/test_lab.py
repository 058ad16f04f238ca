"""`casebook lab`: JupyterLab's Voila preview finds the casebook's template and no CDN address."""

import json
import shutil

import pytest
from voila.paths import collect_static_paths, collect_template_paths

from casebook.cli import main
from casebook.content.roots import SHIPPED_NOTEBOOKS
from casebook.serve import lab
from casebook.serve.servers import TEMPLATES


def test_the_environment_puts_the_casebook_folders_first():
    env = lab.lab_environment({"JUPYTER_PATH": "/elsewhere", "HOME": "/home/x"})
    assert env["JUPYTER_PATH"].split(":") == [str(lab.DATA), "/elsewhere"]
    assert env["JUPYTER_CONFIG_PATH"] == str(lab.LAB_CONFIG) and env["HOME"] == "/home/x"


def test_voila_finds_the_named_template_the_servers_use(monkeypatch):
    monkeypatch.setenv("JUPYTER_PATH", lab.lab_environment({})["JUPYTER_PATH"])
    settings = json.loads((lab.LAB_CONFIG / "voila.json").read_text())["VoilaConfiguration"]
    name = settings["template"]
    paths = collect_template_paths(["voila", "nbconvert"], name, prune=True)
    assert paths[0] == str(TEMPLATES) and (TEMPLATES / "index.html.j2").is_file()
    assert any(p.endswith("voila/templates/lab") for p in paths)  # conf.json: on Voila's lab
    assert any(p.endswith("voila/templates/lab/static")
               for p in collect_static_paths(["voila", "nbconvert"], name))
    assert settings["strip_sources"] is True and settings["show_tracebacks"] is False


def test_the_mathjax_address_is_cleared():
    # Voila's extension would default both, and its page then loads MathJax 2 from a CDN.
    server = json.loads((lab.LAB_CONFIG / "jupyter_server_config.json").read_text())
    assert server["ServerApp"]["tornado_settings"] == {"mathjax_url": None, "mathjax_config": None}


def test_the_template_links_nothing_outside():
    text = (TEMPLATES / "index.html.j2").read_text()
    assert "https://" not in text and "http://" not in text


def test_lab_without_jupyterlab_is_one_line(monkeypatch, capsys):
    monkeypatch.setattr(lab.importlib.util, "find_spec", lambda name: None)
    assert main(["lab", "--port=9999"]) == 1
    assert capsys.readouterr().err == ("casebook: JupyterLab is not installed: "
                                       "pip install 'casebook[author]'\n")


def test_only_lab_takes_arguments_it_does_not_know(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["list", "--port=9999"])
    assert exited.value.code == 2
    assert "unrecognized arguments: --port=9999" in capsys.readouterr().err


def test_the_casebooks_notebooks_are_trusted_without_changing_them(tmp_path, monkeypatch):
    import nbformat
    from nbformat.sign import NotebookNotary

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    folder = tmp_path / "notebooks"
    shutil.copytree(SHIPPED_NOTEBOOKS / "cases", folder / "cases")
    before = {p: p.read_bytes() for p in folder.rglob("*.ipynb")}
    assert len(lab.trust_notebooks(folder)) == len(before) > 0
    assert lab.trust_notebooks(folder) == []  # signed once
    assert {p: p.read_bytes() for p in folder.rglob("*.ipynb")} == before
    notary = NotebookNotary()
    assert all(notary.check_signature(nbformat.read(p, as_version=4)) for p in before)

"""One build step pyproject.toml cannot declare: the wheel carries the shipped content.

cases/ and notebooks/ live at the top of the checkout, where authors edit them; a built
wheel gets a copy of both as casebook/_content/, so a plain `pip install .` can serve them
(casebook/content/roots.py looks there when the package is not running from a checkout).
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

CONTENT = ("cases", "notebooks")
SKIP = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "*.pyc")


class BuildWithContent(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout itself
        here = Path(__file__).resolve().parent
        for name in CONTENT:
            target = Path(self.build_lib) / "casebook" / "_content" / name
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(here / name, target, ignore=SKIP)


setup(cmdclass={"build_py": BuildWithContent})

"""Everything is declared in setup.cfg; this adds one step to building the package: the
autoload module and a one-line ``.pth`` file that imports it go beside the package (see
``ntp_datasets/autoload.py``), so that ``datasets.load_dataset("ntp_toolkit", ...)`` works
without ``import ntp_datasets``."""

import os

from setuptools import setup
from setuptools.command.build_py import build_py

MODULE = "_ntp_datasets_autoload"
PTH = "ntp_datasets-autoload.pth"


class BuildPyWithAutoload(build_py):
    """build_py, then the autoload module and its ``.pth`` at the top of the build."""

    def run(self):
        super().run()
        self.copy_file(os.path.join("ntp_datasets", "autoload.py"), os.path.join(self.build_lib, MODULE + ".py"))
        with open(os.path.join(self.build_lib, PTH), "w", encoding="utf-8") as pth:
            pth.write(f"import {MODULE}; {MODULE}.install()\n")

    def get_outputs(self, include_bytecode=True):
        return [*super().get_outputs(include_bytecode), os.path.join(self.build_lib, MODULE + ".py"),
                os.path.join(self.build_lib, PTH)]


setup(cmdclass={"build_py": BuildPyWithAutoload})

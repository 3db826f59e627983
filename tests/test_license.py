"""A package's licence: the SPDX id recognised from its LICENSE/COPYING text (not its file
name), else "unknown". The texts below are the distinctive lines of each licence, not whole
licences."""

from __future__ import annotations

import pytest

from ntp_datasets.project import detect_license, read_package
from ntp_datasets.project.package import license_of_text

TEXTS = {
    "Apache-2.0": "                                 Apache License\n                           Version 2.0, "
                  "January 2004\n                        http://www.apache.org/licenses/\n",
    "MIT": "MIT License\n\nCopyright (c) 2024 Someone\n\nPermission is hereby granted, free of charge, to any person "
           "obtaining a copy\nof this software ...\n\nThe above copyright notice and this permission notice shall be "
           "included in all\ncopies or substantial portions of the Software.\n",
    "BSD-3-Clause": "Redistribution and use in source and binary forms, with or without\nmodification, are permitted "
                    "...\n3. Neither the name of the copyright holder nor the names of its\ncontributors ...\n",
    "BSD-2-Clause": "Redistribution and use in source and binary forms, with or without\nmodification, are permitted "
                    "...\n1. Redistributions of source code must retain the above copyright notice, this\n   list ...\n",
    "GPL-3.0": "                    GNU GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n",
    "GPL-2.0": "                    GNU GENERAL PUBLIC LICENSE\n                       Version 2, June 1991\n",
    "LGPL-3.0": "                   GNU LESSER GENERAL PUBLIC LICENSE\n                       Version 3, 29 June 2007\n\n"
                "This version of the GNU Lesser General Public License incorporates\nthe terms of version 3 of "
                "the GNU General Public License\n",
    "LGPL-2.1": "                  GNU LESSER GENERAL PUBLIC LICENSE\n                       Version 2.1, February 1999\n",
    "MPL-2.0": "Mozilla Public License Version 2.0\n==================================\n",
    "ISC": "ISC License\n\nPermission to use, copy, modify, and/or distribute this software for any\npurpose with or "
           "without fee is hereby granted, provided that ...\n",
    "Unlicense": "This is free and unencumbered software released into the public domain.\n",
    "CC0-1.0": "Creative Commons Legal Code\n\nCC0 1.0 Universal\n",
}


@pytest.mark.parametrize("spdx", sorted(TEXTS))
def test_each_licence_is_recognised_by_its_text(spdx):
    assert license_of_text(TEXTS[spdx]) == spdx


def test_the_text_decides_not_the_file_name(tmp_path):
    (tmp_path / "LICENSE.md").write_text(TEXTS["MIT"])
    assert detect_license(tmp_path) == ("MIT", "LICENSE.md")
    (tmp_path / "LICENSE.md").unlink()
    (tmp_path / "COPYING").write_text(TEXTS["GPL-3.0"])
    assert detect_license(tmp_path) == ("GPL-3.0", "COPYING")
    (tmp_path / "COPYING").write_text("All rights reserved. Ask before using this.\n")
    assert detect_license(tmp_path) == ("unknown", "COPYING")
    (tmp_path / "COPYING").unlink()
    assert detect_license(tmp_path) == ("unknown", None)


def test_the_package_model_carries_its_licence(tmp_path):
    (tmp_path / "lakefile.toml").write_text('name = "p"\n[[lean_lib]]\nname = "P"\n')
    (tmp_path / "license.txt").write_text(TEXTS["Apache-2.0"])  # names are compared case-insensitively
    package = read_package(tmp_path)
    assert (package.license, package.license_file) == ("Apache-2.0", "license.txt")

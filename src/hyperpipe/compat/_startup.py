"""Interpreter start-up hook, run by ``hyperpipe_azureml_alias.pth`` when ``ALIAS_ENV`` is set.

It installs the ``azureml`` alias finder and nothing else: no hyperpipe engine module is imported
until a script imports ``azureml.*``. The real-SDK check waits for that first import, when
``sys.path`` is complete.
"""

from __future__ import annotations

import os

from hyperpipe.compat import ALIAS_ENV

__all__: list[str] = []

if os.environ.get(ALIAS_ENV, "").strip().lower() not in ("", "0", "false", "no", "off"):
    from hyperpipe.compat._finder import install

    install(check_real_sdk=True)

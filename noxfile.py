# -*- coding: utf-8 -*-
# Copyright: nixfleet.nixos contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The developer loop: ``nox -s lint unit`` needs neither root nor scripts/setup.sh (its venvs get
the same hash-locked tools as CI, from tests/requirements/locks); ``sanity`` runs ansible-test's
sanity tests; ``integration`` is the whole suite on the local fleet (root, as the README's test
command: scripts/setup.sh installs Nix, OpenSSH and the rest)."""

import os

import nox

nox.options.sessions = ["lint", "unit"]
nox.options.reuse_existing_virtualenvs = True

PYTHONS = ["3.11", "3.13", "3.14"]  # the Pythons the locks are made for (scripts/lock.sh)
HERE = os.path.dirname(os.path.abspath(__file__))


def locked(session: nox.Session) -> None:
    """The session's venv holds exactly the pinned lock for its Python."""
    session.run("bash", "scripts/install-lock.sh", session.virtualenv.location, external=True)


def collections_root(session: nox.Session) -> str:
    """A folder where ``ansible_collections.nixfleet.nixos`` is this checkout (mypy imports it so)."""
    root = session.create_tmp()
    session.run("mkdir", "-p", root + "/ansible_collections/nixfleet", external=True)
    session.run("ln", "-sfn", HERE, root + "/ansible_collections/nixfleet/nixos", external=True)
    return root


@nox.session(python=PYTHONS, venv_backend="venv")
def lint(session: nox.Session) -> None:
    """ruff's lint and format check, mypy over plugins/ and tests/, pyflakes: the settings of pyproject.toml."""
    locked(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("pyflakes", "plugins", "tests", "molecule")
    with session.chdir(collections_root(session)):
        session.run(
            "mypy",
            "--config-file",
            HERE + "/pyproject.toml",
            "ansible_collections/nixfleet/nixos/plugins",
            "ansible_collections/nixfleet/nixos/tests",
        )


@nox.session(python=PYTHONS, venv_backend="venv")
def unit(session: nox.Session) -> None:
    """The unit tests that need nothing of the machine (the ``host_tools`` ones run in the full suite)."""
    locked(session)
    session.run(
        "python", "-m", "pytest", "-p", "no:cacheprovider", "tests/unit", "-m", "not host_tools", *session.posargs
    )


@nox.session(python=False)
def sanity(session: nox.Session) -> None:
    """ansible-test sanity and units on a copy of the collection (in the venv of scripts/setup.sh)."""
    session.run(
        "bash",
        "-c",
        "source scripts/env.sh && python -m pytest -p no:cacheprovider tests/integration/test_sanity_lint.py",
        external=True,
    )


@nox.session(python=False)
def integration(session: nox.Session) -> None:
    """Everything, as CI runs it (root): the README's test command."""
    session.run("bash", "scripts/test.sh", *session.posargs, external=True)

"""Package discovery that pyproject.toml cannot express: every podtriage package found, plus two
data-only packages, one of them mapped from another folder (see the comment in pyproject.toml)."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["podtriage", "podtriage.*"]), "podtriage.schema", "podtriage.builtin_rules"],
    package_dir={"podtriage.builtin_rules": "rules"},
)

"""Packaging that pyproject.toml cannot express: the top-level ``problems/`` suite and ``prompts/`` templates
ship inside the package as ``autocomp/_problems`` and ``autocomp/_prompts``, so a regular (non-editable)
install finds them. Everything else about the project is in pyproject.toml."""

from setuptools import find_namespace_packages, setup

DATA_PACKAGES = {"autocomp._problems": "problems", "autocomp._prompts": "prompts"}

setup(
    packages=find_namespace_packages(include=["autocomp", "autocomp.*"], exclude=["*__pycache__*"])
    + list(DATA_PACKAGES),
    package_dir=DATA_PACKAGES,
)

"""Maps the repository's specs/, schemas/ and suites/ into the package as `imgconf._data.*`, so a wheel carries them.

They stay at the repository root, where people read them as documentation; everything else is in
pyproject.toml. (pyproject.toml alone cannot combine package discovery with such a mapping.)
"""

from setuptools import find_namespace_packages, setup

DATA_DIRS = ("specs", "schemas", "suites")
DATA_FILES = ["*.yaml", "*.json", "*.toml", "*.ini"]

packages = find_namespace_packages("src", include=["imgconf", "imgconf.*"])
package_dir = {"": "src"}
package_data: dict[str, list[str]] = {}
for folder in DATA_DIRS:
    top = f"imgconf._data.{folder}"
    subpackages = [top] + [f"{top}.{name}" for name in find_namespace_packages(folder, exclude=["*__pycache__*"])]
    for package in subpackages:
        package_dir[package] = package.replace(f"imgconf._data.{folder}", folder, 1).replace(".", "/")
        package_data[package] = DATA_FILES
    packages += subpackages

setup(packages=packages, package_dir=package_dir, package_data=package_data)

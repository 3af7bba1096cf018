"""What each of the repository's two wheels holds: bidirlib's only `bidirlib`, bidirbook's only `bidirbook`.

A user who installs the library must not get the book's helpers (a chapter's CoNLL-U reader, its CO2 loader), and
the helpers' wheel must not carry the library or the repository's tooling (`notebook_rules.py`, scripts, tests).
Each wheel is built, without build isolation and without dependencies (seconds, no download), from a copy of the
files a clone of this checkout holds (tracked, and untracked ones git does not ignore), so that no build folder
left in the working tree can slip stale files into a wheel, and the build leaves nothing behind.
"""

import pathlib
import shutil
import subprocess
import sys
import zipfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: Each distribution's folder in the repository, and the one package its wheel may hold.
DISTRIBUTIONS = {".": "bidirlib", "book": "bidirbook"}


@pytest.fixture(scope="module")
def checkout(tmp_path_factory):
    """A copy of the files a clone of this checkout would hold, with its uncommitted changes."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split("\0")
    copy = tmp_path_factory.mktemp("checkout")
    for name in filter(None, files):
        source = ROOT / name
        if source.is_file():  # a file deleted in the working tree is still in git's index
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    return copy


@pytest.mark.parametrize("folder, package", DISTRIBUTIONS.items(), ids=DISTRIBUTIONS.values())
def test_a_wheel_holds_only_its_package(checkout, tmp_path, folder, package):
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--no-index",
         "--wheel-dir", str(tmp_path), str(checkout / folder)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    [wheel] = tmp_path.glob(f"{package}-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    dist_info = wheel.name.split("-")[0] + "-" + wheel.name.split("-")[1] + ".dist-info"
    stray = [name for name in names if name.split("/")[0] not in (package, dist_info)]
    assert not stray, f"{wheel.name} holds files outside {package}/ and {dist_info}/: {stray}"
    assert f"{package}/__init__.py" in names, names

"""environment.yml (conda) and the two pyproject.toml files (pip) must describe the same installation.

environment.yml gives conda only what pip cannot: Python itself and pip. The
rest it installs through pip from this repository's two distributions,
bidirlib (the root) and the book's helpers, bidirbook (book/), with extras
that their pyproject.toml files define, as the README's test command does,
so the files cannot drift apart silently.
"""

import pathlib
import re
import subprocess
import sys

try:
    import tomllib
except ImportError:  # Python 3.10
    import tomli as tomllib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]

# Conda packages environment.yml may list besides pip's section: the
# interpreter and the installer, which pyproject.toml cannot provide.
CONDA_ONLY = {"python", "pip"}


def conda_name(spec):
    return re.split(r"[=<>!~ \[]", spec.strip(), maxsplit=1)[0].lower()


def version_tuple(text):
    return tuple(int(part) for part in text.split("."))


def floor_of(spec):
    """The lowest version a spec allows: "python=3.11" and ">=3.11" give (3, 11)."""
    match = re.search(r"(?:^|[^<!])(?:>=|==|=|~=)\s*(\d+(?:\.\d+)*)", spec)
    assert match, f"no lower bound in {spec!r}"
    return version_tuple(match.group(1))[:2]


@pytest.fixture(scope="module")
def environment():
    return yaml.safe_load((ROOT / "environment.yml").read_text())


#: Each distribution's folder, as the pip section and the README's commands name it.
DISTRIBUTIONS = {".": "bidirlib", "./book": "bidirbook"}


@pytest.fixture(scope="module")
def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


@pytest.fixture(scope="module")
def pyprojects():
    """Each distribution's folder and its parsed pyproject.toml."""
    return {folder: tomllib.loads((ROOT / folder / "pyproject.toml").read_text()) for folder in DISTRIBUTIONS}


def editable_installs(line):
    """`(folder, extras)` for each `-e FOLDER[EXTRA,...]` of a pip command or requirement line."""
    return [(folder, {e.strip() for e in (extras or "").split(",") if e.strip()})
            for folder, extras in re.findall(r'-e\s+"?(\.(?:/[\w-]+)?)(?:\[([\w,\s-]+)\])?"?', line)]


@pytest.fixture(scope="module")
def conda_dependencies(environment):
    return [d for d in environment["dependencies"] if isinstance(d, str)]


@pytest.fixture(scope="module")
def pip_requirements(environment):
    sections = [d["pip"] for d in environment["dependencies"] if isinstance(d, dict)]
    assert len(sections) == 1, "environment.yml needs exactly one pip section"
    return sections[0]


def test_conda_lists_only_python_and_pip(conda_dependencies):
    names = {conda_name(d) for d in conda_dependencies}
    assert names <= CONDA_ONLY, (
        f"environment.yml installs {sorted(names - CONDA_ONLY)} with conda; "
        "declare them in pyproject.toml and install them through the pip section"
    )
    assert names == CONDA_ONLY


def test_pip_section_installs_the_two_distributions_and_nothing_else(pip_requirements):
    installs = [editable_installs(line) for line in pip_requirements]
    assert all(len(found) == 1 for found in installs), (
        f"each line of the pip section should install one of {sorted(DISTRIBUTIONS)}, e.g. '-e .[test]'; "
        f"got {pip_requirements!r}"
    )
    assert [found[0][0] for found in installs] == list(DISTRIBUTIONS), pip_requirements


def test_pip_section_installs_what_the_readmes_test_command_installs(pip_requirements):
    command = subprocess.run([sys.executable, str(ROOT / "scripts" / "readme_commands.py"), "test"],
                             capture_output=True, text=True, check=True).stdout
    assert [found for line in pip_requirements for found in editable_installs(line)] == editable_installs(command)


def test_extras_exist_in_pyproject(pip_requirements, pyprojects):
    for folder, extras in (found for line in pip_requirements for found in editable_installs(line)):
        defined = set(pyprojects[folder]["project"].get("optional-dependencies", {}))
        assert extras, f"no extras named for {folder}"
        assert extras <= defined, f"extras {sorted(extras - defined)} are not in {folder}/pyproject.toml"


def test_extras_give_the_book_and_the_tests(pip_requirements, pyprojects):
    # A conda user gets what the README's commands need: the book's stack, the chapters' packages and the test
    # runners. Resolve references such as "bidirlib[book]" to an extra of either distribution.
    by_name = {project["project"]["name"]: project for project in pyprojects.values()}

    def resolve(name, extra, seen=()):
        names = set()
        for requirement in by_name[name]["project"]["optional-dependencies"][extra]:
            reference = re.fullmatch(r"([\w-]+)\[([\w,\s-]+)\]", requirement.strip())
            if reference and reference.group(1) in by_name:
                for inner in reference.group(2).split(","):
                    if (reference.group(1), inner.strip()) not in seen:
                        names |= resolve(reference.group(1), inner.strip(), seen + ((name, extra),))
            else:
                names.add(conda_name(requirement))
        return names

    installed = set()
    for folder, extras in (found for line in pip_requirements for found in editable_installs(line)):
        installed |= {conda_name(r) for r in pyprojects[folder]["project"]["dependencies"]}
        for extra in extras:
            installed |= resolve(DISTRIBUTIONS[folder], extra)
    for needed in ("jupyter-book", "tensorflow", "matplotlib", "pytest", "nbval", "conllu", "statsmodels"):
        assert needed in installed, f"{needed} is not installed by the environment"


def test_conda_python_meets_the_package_floor(conda_dependencies, pyproject):
    python = [d for d in conda_dependencies if conda_name(d) == "python"]
    assert len(python) == 1, "environment.yml should name python once"
    requires = pyproject["project"]["requires-python"]
    assert floor_of(python[0]) >= floor_of(requires), (
        f"environment.yml asks for {python[0]!r} but pyproject.toml "
        f"requires-python is {requires!r}"
    )


@pytest.mark.parametrize(
    "spec, floor",
    [("python=3.11", (3, 11)), (">=3.11", (3, 11)), ("python>=3.10,<3.13", (3, 10)),
     ("python==3.12.4", (3, 12))],
)
def test_floor_parser(spec, floor):
    assert floor_of(spec) == floor


# Backends the website's build must not install: it runs no notebook.
HEAVY_BACKENDS = {"tensorflow", "tensorflow-cpu", "torch"}


def test_site_extra_builds_the_website_without_a_heavy_backend(pyproject):
    site = pyproject["project"]["optional-dependencies"]["site"]
    names = {conda_name(requirement) for requirement in site}
    assert "jupyter-book" in names, site
    assert not names & HEAVY_BACKENDS, (
        f"the site extra installs {sorted(names & HEAVY_BACKENDS)}; the build only imports bidirlib"
    )
    assert not any("cuda" in requirement for requirement in site), site


def test_readme_first_command_builds_the_site_with_the_site_extra():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    assert commands, "no bash block in README.md"
    first = commands[0].strip()
    # bidirlib with the site extra, and bidirbook (the API page documents it) without its chapters extra.
    assert re.match(r'pip install -e "\.\[site\]" -e "\./book" && jupyter-book build ', first), first
    assert editable_installs(first) == [(".", {"site"}), ("./book", set())], first
    # The backend the build imports Keras with is set by the build itself.
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["sphinx"]["config"]["keras_backend"] == "jax"
    assert "keras_backend" in config["sphinx"]["local_extensions"]


def test_readme_gives_the_published_sites_address_for_the_configured_repository():
    # GitHub Pages publishes github.com/OWNER/NAME at OWNER.github.io/NAME; the repository lives in _config.yml.
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    owner, name = url.split("/")[-2:]
    assert f"<https://{owner}.github.io/{name}/>" in (ROOT / "README.md").read_text()


def test_the_book_helpers_install_light_for_the_site(pyprojects):
    # The site command installs bidirbook without its extras: its dependencies are what importing a module
    # needs (the API page documents them), never a heavy backend or what only the chapters call.
    book = pyprojects["./book"]["project"]
    names = {conda_name(requirement) for requirement in book["dependencies"]}
    assert names == {"bidirlib", "keras", "numpy"}, book["dependencies"]
    chapters = {conda_name(requirement) for requirement in book["optional-dependencies"]["chapters"]}
    assert {"matplotlib", "statsmodels", "turkish-treebanks", "conllu"} <= chapters, chapters
    assert not chapters & HEAVY_BACKENDS, chapters

"""environment.yml (conda) and pyproject.toml (pip) must describe the same installation.

environment.yml gives conda only what pip cannot: Python itself and pip. The
rest it installs through pip from this package, with extras that
pyproject.toml defines, so the two files cannot drift apart silently.
"""

import pathlib
import re

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


@pytest.fixture(scope="module")
def pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


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


def test_pip_section_installs_this_package_and_nothing_else(pip_requirements):
    assert len(pip_requirements) == 1, pip_requirements
    assert re.fullmatch(r"(-e\s+)?\.(\[[\w,\s-]+\])?", pip_requirements[0].strip()), (
        f"the pip section should install this package, e.g. '-e .[test]'; "
        f"got {pip_requirements[0]!r}"
    )


def test_extras_exist_in_pyproject(pip_requirements, pyproject):
    match = re.search(r"\[([^\]]*)\]", pip_requirements[0])
    assert match, "the pip section should install the package with its extras"
    extras = {e.strip() for e in match.group(1).split(",") if e.strip()}
    defined = set(pyproject["project"].get("optional-dependencies", {}))
    assert extras, "no extras named"
    assert extras <= defined, f"extras {sorted(extras - defined)} are not in pyproject.toml"


def test_extras_give_the_book_and_the_tests(pip_requirements, pyproject):
    # A conda user gets what the README's commands need: the book's stack and
    # the test runners. Resolve self-references such as "bidirlib[book]".
    optional = pyproject["project"]["optional-dependencies"]
    name = pyproject["project"]["name"]

    def resolve(extra, seen=()):
        names = set()
        for requirement in optional[extra]:
            self_ref = re.fullmatch(rf"{name}\[([\w,\s-]+)\]", requirement.strip())
            if self_ref:
                for inner in self_ref.group(1).split(","):
                    if inner.strip() not in seen:
                        names |= resolve(inner.strip(), seen + (extra,))
            else:
                names.add(conda_name(requirement))
        return names

    extras = re.search(r"\[([^\]]*)\]", pip_requirements[0]).group(1).split(",")
    installed = set().union(*(resolve(e.strip()) for e in extras))
    for needed in ("jupyter-book", "tensorflow", "matplotlib", "pytest", "nbval"):
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
    assert re.match(r'pip install -e "\.\[site\]" && jupyter-book build ', first), first
    # The backend the build imports Keras with is set by the build itself.
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["sphinx"]["config"]["keras_backend"] == "jax"
    assert "keras_backend" in config["sphinx"]["local_extensions"]


def test_readme_gives_the_published_sites_address_for_the_configured_repository():
    # GitHub Pages publishes github.com/OWNER/NAME at OWNER.github.io/NAME; the repository lives in _config.yml.
    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"].rstrip("/")
    owner, name = url.split("/")[-2:]
    assert f"<https://{owner}.github.io/{name}/>" in (ROOT / "README.md").read_text()

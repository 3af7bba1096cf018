"""The GitHub workflow a fork of the book runs (.github/workflows/book.yml):
valid for GitHub Actions (actionlint), free of known security mistakes
(zizmor), and doing what the README says CI does.
"""

import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKFLOW = ROOT / ".github" / "workflows" / "book.yml"
README = (ROOT / "README.md").read_text()


def tool(name):
    beside = pathlib.Path(sys.executable).with_name(name)
    return str(beside) if beside.exists() else shutil.which(name)


def load():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    # YAML 1.1 reads the key `on` as True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def steps(job):
    return load()["jobs"][job]["steps"]


def runs(job):
    return "\n".join(step.get("run", "") for step in steps(job))


def uses(job, action):
    found = [step for step in steps(job) if step.get("uses", "").startswith(f"{action}@")]
    assert found, f"job {job} does not use {action}"
    return found[0]


def readme_test_command():
    blocks = re.findall(r"```bash\n(.*?)```", README, re.S)
    for block in blocks:
        for line in block.splitlines():
            if "pip install" in line and re.search(r"&&\s*pytest\s*$", line):
                return line.strip()
    pytest.fail("the README shows no `pip install ... && pytest` command")


def test_actionlint_finds_nothing():
    actionlint = tool("actionlint")
    if actionlint is None:
        pytest.skip("actionlint is not installed (it is in the test extra)")
    result = subprocess.run([actionlint, "-no-color", str(WORKFLOW.relative_to(ROOT))],
                            cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_zizmor_finds_nothing():
    zizmor = tool("zizmor")
    if zizmor is None:
        pytest.skip("zizmor is not installed (pip install zizmor)")
    result = subprocess.run(
        [zizmor, "--offline", "--no-progress", "--config", ".github/zizmor.yml",
         str(WORKFLOW.relative_to(ROOT))],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_runs_on_every_push_and_pull_request():
    triggers = load()["on"]
    assert "push" in triggers and "pull_request" in triggers
    assert not (triggers["push"] or {}).get("branches"), "test every branch that is pushed"


def test_runs_the_readmes_test_command_and_builds_with_warnings_as_errors():
    assert readme_test_command() in runs("test-and-build")
    assert re.search(r"jupyter-book build -W -n --keep-going \.", runs("test-and-build"))
    assert uses("test-and-build", "actions/setup-python")["with"]["python-version"] == "3.11"


def test_publishes_the_website_from_main_only():
    workflow = load()
    on_main = "github.event_name == 'push' && github.ref == 'refs/heads/main'"
    upload = uses("test-and-build", "actions/upload-pages-artifact")
    assert upload["with"]["path"] == "_build/html"
    assert upload["if"] == on_main

    deploy = workflow["jobs"]["deploy"]
    assert deploy["if"] == on_main and deploy["needs"] == "test-and-build"
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert deploy["concurrency"] == {"group": "pages", "cancel-in-progress": False}
    assert uses("deploy", "actions/deploy-pages")["id"] == "deployment"
    # Everything else only reads the repository.
    assert workflow["permissions"] == {"contents": "read"}


def test_checkout_keeps_no_credentials():
    for name, job in load()["jobs"].items():
        for step in job["steps"]:
            if step.get("uses", "").startswith("actions/checkout@"):
                assert step["with"]["persist-credentials"] is False, name


def test_colab_stack_job_runs_the_marked_test():
    job = load()["jobs"]["colab-stack"]
    assert job["if"] == "github.event_name == 'workflow_dispatch'"
    assert "pytest -m colab_stack tests/book/test_colab_stack.py" in runs("colab-stack")

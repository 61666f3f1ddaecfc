"""The README's set-up commands are exactly what CI runs."""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _setup_block():
    text = (ROOT / "README.md").read_text()
    section = text.split("## Set-up", 1)[1]
    block = section.split("```bash", 1)[1].split("```", 1)[0]
    return [line.strip() for line in block.strip().splitlines() if line.strip()]


def test_readme_has_exactly_two_setup_commands_and_ci_runs_them():
    cmds = _setup_block()
    assert len(cmds) == 2
    ci = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text().splitlines()
        if line.strip() and not line.startswith("#") and not line.startswith(("set ", "cd "))
    ]
    assert ci == cmds


def test_setup_is_the_first_section_and_runs_the_demo():
    text = (ROOT / "README.md").read_text()
    first_section = text.split("\n## ", 1)[1].split("\n", 1)[0]
    assert first_section.startswith("Set-up")
    install, tests = _setup_block()
    assert install.startswith("python -m pip install") and install.endswith("&& infomeasure demo")
    assert tests == "python -m pytest"
    assert "](docs/demo_report.png)" in text and (ROOT / "docs" / "demo_report.png").exists()

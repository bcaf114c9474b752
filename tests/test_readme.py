"""The README's examples run: the "Use it from Python" code, as a user would paste it."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def python_example() -> str:
    """The first ``python`` code block of the "Use it from Python" section."""
    text = README.read_text(encoding="utf-8")
    section = text.split("\n## Use it from Python\n", 1)[1].split("\n## ", 1)[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "no python example in the section"
    return match.group(1)


def test_python_example_runs(tmp_path, monkeypatch, capsys, fixture_corpus, counts):
    shutil.copytree(fixture_corpus, tmp_path / "transcripts")
    monkeypatch.chdir(tmp_path)
    exec(compile(python_example(), "README.md (Use it from Python)", "exec"), {"__name__": "readme_example"})
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Indexed ") and (tmp_path / "civic-index").is_dir()
    total, meetings = counts("淨零排碳", since="2022")
    assert f"{total} turns in {meetings} meetings" in out
    assert out[-1] == "unbalanced quote: the phrase is never closed at position 1"

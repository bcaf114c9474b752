"""The shape of the code: layers that point one way, no import cycles, configuration read at the
edge, short functions, the documented front door and the docstring examples.

The import graph is built from the source with ``ast``, imports inside functions included (only
``if TYPE_CHECKING:`` blocks, which never run, are left out), so a lazy import cannot hide a cycle.
"""

from __future__ import annotations

import ast
import doctest
import importlib
import inspect
import json
import os
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("indexer", "search_web")

#: The layers, lowest first: a module imports only modules of its own layer or of lower layers.
LAYERS = {
    "foundation": ["errors", "settings", "options", "paths", "periods", "listfiles"],
    "parsing": ["cleaning", "labels", "decoding", "markdown_format", "record_format", "documents", "documents.blocks",
                "documents.sniff", "documents.zipsafe", "documents.odt", "documents.docx", "documents.legacy",
                "documents.html", "documents.pdf_page", "documents.pdf", "documents.reader", "transcripts"],
    "analysis": ["analysis", "query", "aliases", "people"],
    "index": ["schema", "fileio", "docsets", "codec", "store", "whoosh_adapter", "indexdir", "matching", "person_column",
              "snapshot", "pool", "writing",
              "build"],
    "search": ["snippets", "results", "evaluate", "tally", "resultset", "search", "explain"],
    "research views": ["research", "export", "person_views", "label_check"],
    # Saved searches and their messages: they run queries through search, and the command
    # line and the web app call them.
    "alerts": ["alerts", "alerts.store", "alerts.tokens", "alerts.detect", "alerts.compose", "alerts.deliver",
               "alerts.service"],
    "front ends": ["__init__", "__main__", "cli", "cli_alerts", "terminal", "search_web"],
}
#: What searching may load: its own modules, never the write path or the parsers.
READ_PATH = ["indexer.search", "indexer.explain", "indexer.research", "indexer.export"]
WRITE_PATH = {
    "indexer.build", "indexer.writing", "indexer.pool", "indexer.transcripts", "indexer.markdown_format",
    "indexer.record_format", "indexer.cleaning", "indexer.decoding", "indexer.documents",
}
#: The front ends' own libraries: the library below them never imports these.
FRONT_END_LIBRARIES = ("flask", "werkzeug", "click", "waitress", "jinja2", "search_web")
MAX_FUNCTION_LINES = 60


def source_modules() -> dict[str, Path]:
    """Every module of the two packages: dotted name → file."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            parts = path.relative_to(REPO).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _runtime_nodes(tree: ast.AST):
    """Every node, except those under ``if TYPE_CHECKING:``."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                stack.extend(child.orelse)
                continue
            stack.append(child)


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules ``name`` imports (anywhere in it): our own modules by dotted name, other
    packages by their top-level name."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name if alias.name.split(".")[0] in PACKAGES else alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module
            if target.split(".")[0] not in PACKAGES:
                found.add(target.split(".")[0])
                continue
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in known)
    # A module's own packages are always imported before it: importing them is never a cycle.
    ancestors = {name.rsplit(".", n)[0] for n in range(1, name.count(".") + 1)}
    return found - {name} - ancestors


def import_graph() -> dict[str, set[str]]:
    modules = source_modules()
    known = set(modules)
    return {name: imports_of(name, path, known) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle among our modules, as a path that returns to its start, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if target not in graph:
                continue
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                cycle = visit(target)
                if cycle:
                    return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def layer_of(module: str) -> int:
    short = module.split(".", 1)[1] if module.startswith("indexer.") else module
    if module == "indexer":
        short = "__init__"
    if module.split(".")[0] == "search_web":
        short = "search_web"
    for rank, (_, names) in enumerate(LAYERS.items()):
        if short in names:
            return rank
    raise AssertionError(f"{module} is in no layer: add it to LAYERS in {Path(__file__).name}")


# --- the import graph ----------------------------------------------------------------------------


def test_the_graph_sees_imports_inside_functions():
    graph = import_graph()
    assert "indexer.build" in graph["indexer.cli"]  # `from .build import build_index` inside commands
    assert "search_web.helpers" in graph["search_web.api"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, " → ".join(cycle)


def test_layers_only_point_down():
    graph = import_graph()
    wrong = [
        f"{module} ({list(LAYERS)[layer_of(module)]}) imports {target} ({list(LAYERS)[layer_of(target)]})"
        for module, targets in sorted(graph.items())
        for target in sorted(targets)
        if target in graph and layer_of(target) > layer_of(module)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_library_never_imports_its_front_ends():
    graph = import_graph()
    front = len(LAYERS) - 1
    wrong = [
        f"{module} imports {target}"
        for module, targets in sorted(graph.items())
        if layer_of(module) < front
        for target in sorted(targets)
        if target.split(".")[0] in FRONT_END_LIBRARIES or (target in graph and layer_of(target) == front)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_command_line_never_imports_the_web_app():
    """``serve`` comes from search_web.cli through an entry point; the web app itself (all of
    search_web but its command) never builds on the command line either."""
    graph = import_graph()
    cli = {"indexer.cli", "indexer.terminal", "indexer.__main__"}
    web = {m for m in graph if m.split(".")[0] == "search_web"}
    assert not [(m, t) for m in cli for t in graph[m] if t.split(".")[0] in ("search_web", "flask")]
    assert not [(m, t) for m in web - {"search_web.cli"} for t in graph[m] if t in cli]


def test_the_read_path_never_imports_the_write_path():
    graph = import_graph()
    seen, stack = set(), list(READ_PATH)
    while stack:
        module = stack.pop()
        if module in seen or module not in graph:
            continue
        seen.add(module)
        stack.extend(graph[module])
    assert not seen & WRITE_PATH, sorted(seen & WRITE_PATH)


def test_searching_in_a_new_process_loads_no_write_path_module(index_dir):
    """What a search really loads, lazy imports and the front door included."""
    script = textwrap.dedent(
        f"""
        import json, sys
        from indexer import SearchEngine
        from indexer.explain import explain
        from indexer.export import export_rows
        from indexer.research import occurrence_rows, timeline
        engine = SearchEngine({str(index_dir)!r})
        result_set = engine.run("淨零排碳", speaker="局長", aliases=True)
        result_set.by_speaker(), timeline(result_set, "month"), occurrence_rows(result_set), export_rows(result_set)
        engine.search("數位部", aliases=True), engine.meeting("000_c33521a9eed413fa"), engine.stats()
        engine.speaker_labels("局"), explain("數位部 -淨零", aliases=True)
        engine.close()
        print(json.dumps(sorted(m for m in sys.modules if m.startswith("indexer"))))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=REPO, check=True)
    loaded = set(json.loads(done.stdout))
    assert "indexer.search" in loaded and "indexer.snapshot" in loaded
    assert not loaded & WRITE_PATH, sorted(loaded & WRITE_PATH)


def test_whoosh_private_api_is_used_in_one_module():
    private = re.compile(r"\._(?:terms|tempstorage|finalize_segment|close_segment|merge_segments|commit_toc|added|read_toc|"
                         r"finish|lk)\b|\b_lk=")
    users = sorted(name for name, path in source_modules().items() if private.search(path.read_text(encoding="utf-8")))
    assert users == ["indexer.whoosh_adapter"]


# --- configuration at the edge -------------------------------------------------------------------

#: The modules that read the environment: the command line and the web app factory (the edge).
EDGE = {"indexer.cli", "search_web.app"}


def reads_environment(path: Path) -> bool:
    """Whether the module touches the process environment (``os.environ``, ``os.getenv``…)."""
    names = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in names and ast.unparse(node.value) == "os":
            return True
        if isinstance(node, ast.ImportFrom) and node.module == "os" and names & {a.name for a in node.names}:
            return True
    return False


def test_library_code_never_reads_the_environment():
    readers = sorted(name for name, path in source_modules().items() if reads_environment(path))
    assert readers == sorted(EDGE), readers
    for name in EDGE:
        assert "Settings.from_environ(os.environ" in source_modules()[name].read_text(encoding="utf-8")


def test_segmenting_reads_no_dictionary_file_per_text(monkeypatch, tmp_path):
    from indexer import analysis

    user = tmp_path / "mine.txt"
    user.write_text("線上討論 3000 n\n", encoding="utf-8")
    segmenter = analysis.load_segmenter([str(user)])
    stats = []
    real_stat = os.stat
    monkeypatch.setattr(analysis.os, "stat", lambda *a, **k: stats.append(a) or real_stat(*a, **k))
    for _ in range(50):
        assert "线上讨论" in analysis.segment_words("我們在線上討論", segmenter)
    assert stats == []


# --- code size ---------------------------------------------------------------------------------


def test_no_function_over_60_lines():
    """A longer function needs a comment on its ``def`` line saying why (``# long: …``)."""
    long = []
    for name, path in source_modules().items():
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in ast.walk(ast.parse("\n".join(lines))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                if length > MAX_FUNCTION_LINES and "# long:" not in lines[node.lineno - 1]:
                    long.append(f"{name}.{node.name} ({length} lines)")
    assert not long, long


# --- the front door and the docstring examples -----------------------------------------------------


def test_front_door_names_are_public_and_documented():
    import indexer

    undocumented = []
    for name in indexer.__all__[1:]:
        value = getattr(indexer, name)
        members = [(name, value)]
        if isinstance(value, type):
            members += [(f"{name}.{m}", v) for m, v in vars(value).items() if not m.startswith("_")
                        and (callable(v) or isinstance(v, (property, classmethod, staticmethod)))]
        for shown, member in members:
            doc = inspect.getdoc(member.fget if isinstance(member, property) else member) or ""
            if not doc or doc.startswith(f"{name}("):  # a dataclass's generated signature is no docstring
                undocumented.append(shown)
    assert not undocumented, undocumented
    from indexer import CivicSearchError

    errors = [getattr(indexer, n) for n in indexer.__all__ if isinstance(getattr(indexer, n), type)
              and issubclass(getattr(indexer, n), Exception)]
    assert len(errors) >= 10 and all(issubclass(e, CivicSearchError) for e in errors)


def test_importing_the_front_door_loads_nothing_else():
    done = subprocess.run([sys.executable, "-c", "import sys, indexer; print(sorted(sys.modules))"],
                          capture_output=True, text=True, cwd=REPO, check=True)
    loaded = eval(done.stdout)
    assert [m for m in loaded if m.startswith("indexer.")] == []
    assert "whoosh" not in loaded and "flask" not in loaded


def _modules_with_examples():
    for name, path in source_modules().items():
        if ">>> " in path.read_text(encoding="utf-8") and not name.endswith("__main__"):
            yield name


@pytest.mark.parametrize("module", sorted(_modules_with_examples()))
def test_docstring_examples(module):
    failed, attempted = doctest.testmod(importlib.import_module(module), optionflags=doctest.ELLIPSIS)
    assert attempted and not failed


def test_docstring_examples_are_found():
    assert {"indexer.analysis", "indexer.explain", "indexer.periods"} <= set(_modules_with_examples())

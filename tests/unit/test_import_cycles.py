"""No import cycles in `layers/common/lectern` or `devtools/`.

A cycle makes the import order matter (a module half-initialised when the other
asks for its names), and two modules that cannot be understood, tested or moved
one without the other. The graph is read from the source with `ast`, so it sees
every import statement: those inside functions and under `if TYPE_CHECKING:`
too (a type-only cycle is still a design cycle). Each import is resolved to the
repository's own module it names, `from package import name` to the submodule
when `name` is one, else to the package.

Two levels are checked: modules, and packages (every module counted as its
package, e.g. `lectern.catalog`, so `catalog → payments → catalog` through
different modules is a cycle too; a package's own modules and its parent
package's may import each other).
"""
from support.import_graph import describe, cycles, discover, module_graph, package_graph


def test_the_graph_sees_imports_of_every_kind():
    graph = module_graph()
    # Relative (`from .errors import ApiError`), in a function body, and absolute from a subpackage.
    assert "lectern_dev.stripe_emulator.errors" in graph["lectern_dev.stripe_emulator.forms"]
    assert "lectern_admin.catalog.catalog_file" in graph["lectern_admin.catalog_cmd"]
    assert "lectern.config" in graph["lectern.models.base"]


def test_no_module_imports_itself_through_others():
    found = cycles(module_graph())
    assert not found, f"import cycles between modules:\n{describe(found)}"


def test_no_package_imports_itself_through_others():
    modules = discover()
    found = cycles(package_graph(module_graph(), modules))
    assert not found, f"import cycles between packages:\n{describe(found)}"


def test_the_cycle_finder_reports_the_path():
    graph = {"a": {"b"}, "b": {"c", "x"}, "c": {"a", "d"}, "d": set(), "e": {"e"}, "x": {"a"}}
    found = cycles(graph)
    assert found == [(["a", "b", "c", "a"], ["a", "b", "c", "x"]), (["e", "e"], ["e"])]
    assert describe(found) == "a → b → c → a  (the same cycle also runs through x)\ne → e"

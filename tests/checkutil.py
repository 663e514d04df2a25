"""Shared by the tests of exercises.py's self-checks."""


def run(checker, fn, capsys):
    """Call a checker and return (result, the one line it printed)."""
    result = checker(fn)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert len(lines) == 1, f"expected exactly one line, got {out!r}"
    assert lines[0].startswith("PASSED: " if result else "FAILED: ")
    assert isinstance(result, bool)
    return result, lines[0]

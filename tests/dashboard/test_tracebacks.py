"""``dashboard.tracebacks``: a stored traceback split into its error and its frames, whatever the text is."""
import pytest

from dashboard.tracebacks import Frame, Traceback, is_library_path, parse

PROJECT = "/srv/app/proj/tasks.py"
LIBRARY = "/usr/lib/python3.11/site-packages/celery/app/trace.py"

SIMPLE = f"""Traceback (most recent call last):
  File "{LIBRARY}", line 453, in trace_task
    R = retval = fun(*args, **kwargs)
  File "{PROJECT}", line 12, in divide
    return x / y
           ~~^~~
ZeroDivisionError: division by zero
"""

CHAINED = f"""Traceback (most recent call last):
  File "{PROJECT}", line 5, in fetch
    return cache[key]
KeyError: 'k'

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "{PROJECT}", line 9, in load
    raise LookupError(key) from None
LookupError: k

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "{LIBRARY}", line 453, in trace_task
    R = retval = fun(*args, **kwargs)
  File "{PROJECT}", line 20, in run
    raise RuntimeError("could not load") from error
RuntimeError: could not load
"""


class TestAPythonTraceback:
    def test_the_exception_is_the_last_line(self):
        assert parse(SIMPLE).exception == "ZeroDivisionError: division by zero"

    def test_each_frame_has_its_path_line_function_and_code_with_the_markers(self):
        library, project = parse(SIMPLE).frames
        assert library == Frame(LIBRARY, 453, "trace_task", "R = retval = fun(*args, **kwargs)", library=True)
        assert project == Frame(PROJECT, 12, "divide", "return x / y\n~~^~~", library=False)

    def test_project_frames_leave_library_frames_out(self):
        assert [frame.path for frame in parse(SIMPLE).project_frames] == [PROJECT]

    def test_the_text_is_kept_whole(self):
        traceback = parse(SIMPLE)
        assert traceback.text == SIMPLE and traceback.chained == 0

    def test_a_multi_line_message_is_kept_whole(self):
        text = SIMPLE.replace("division by zero", "first line\nsecond line\n  indented detail")
        assert parse(text).exception == "ZeroDivisionError: first line\nsecond line\n  indented detail"

    def test_a_frame_without_a_function_name(self):
        (frame,) = parse(f'  File "{PROJECT}", line 3\n    x = (\nSyntaxError: invalid syntax').frames
        assert (frame.function, frame.line, frame.code) == ("", 3, "x = (")
        assert parse(f'  File "{PROJECT}", line 3\nSyntaxError: x').frames[0].code == ""

    def test_frames_with_no_source_line(self):
        text = (
            'Traceback (most recent call last):\n  File "<string>", line 1, in <module>\n'
            f'  File "{PROJECT}", line 2, in f\nOSError: gone'
        )
        frames = parse(text).frames
        assert [(f.path, f.code) for f in frames] == [("<string>", ""), (PROJECT, "")]
        assert parse(text).exception == "OSError: gone"

    def test_only_lines_indented_as_source_are_a_frames_code(self):
        text = (
            f'Traceback (most recent call last):\n  File "{PROJECT}", line 2, in f\n    return f()\n           ^^^\n'
            "  [Previous line repeated 996 more times]\nRecursionError: maximum recursion depth exceeded"
        )
        traceback = parse(text)
        assert [frame.code for frame in traceback.frames] == ["return f()\n^^^"]
        assert traceback.exception.endswith("\nRecursionError: maximum recursion depth exceeded")


class TestChains:
    def test_only_the_last_exception_and_its_frames_are_kept(self):
        traceback = parse(CHAINED)
        assert traceback.exception == "RuntimeError: could not load"
        assert [(f.function, f.line) for f in traceback.frames] == [("trace_task", 453), ("run", 20)]

    def test_every_link_of_the_chain_is_counted(self):
        assert parse(CHAINED).chained == 2
        assert parse(CHAINED.split("\nThe above exception")[0]).chained == 1


class TestLibraryPaths:
    @pytest.mark.parametrize("path", [
        "/venv/lib/python3.11/site-packages/kombu/x.py",
        "/usr/lib/python3/dist-packages/redis/client.py",
        "/usr/local/lib/python3.11/json/decoder.py",
        "<frozen importlib._bootstrap>",
    ])
    def test_installed_and_standard_library_code(self, path):
        assert is_library_path(path)

    @pytest.mark.parametrize("path", [PROJECT, "/home/me/project/lib/helpers.py", "<string>"])
    def test_the_projects_own_code(self, path):
        assert not is_library_path(path)

    def test_the_markers_are_a_setting(self, settings):
        settings.DASHBOARD = {**settings.DASHBOARD, "LIBRARY_PATH_MARKERS": ["/srv/app/"]}
        assert is_library_path(PROJECT) and not is_library_path(LIBRARY)
        assert [frame.library for frame in parse(SIMPLE).frames] == [False, True]


class TestTextThatIsNotATraceback:
    @pytest.mark.parametrize("text", [None, "", "   \n\t\n "])
    def test_nothing_is_an_empty_traceback(self, text):
        traceback = parse(text)
        assert (traceback.exception, traceback.frames, traceback.chained) == ("", [], 0)
        assert traceback.text == (text or "")

    def test_plain_text_keeps_its_last_three_non_blank_lines(self):
        traceback = parse("WorkerLostError\n\nfirst\nsecond\n\nthird\nfourth\n")
        assert traceback.exception == "second\nthird\nfourth" and traceback.frames == []

    def test_a_line_number_that_is_not_one_is_no_frame(self):
        text = 'Traceback (most recent call last):\n  File "x.py", line abc, in f\nValueError: v'
        traceback = parse(text)
        assert traceback.frames == []
        assert traceback.exception == text  # its last three lines: all of it

    def test_a_traceback_cut_after_its_frames_falls_back_to_the_texts_end(self):
        text = f'Traceback (most recent call last):\n  File "{PROJECT}", line 3, in f\n    g()\n'
        traceback = parse(text)
        assert len(traceback.frames) == 1
        assert traceback.exception == text.strip()

    def test_a_huge_text_without_frames_shows_only_its_end(self):
        text = "\n".join(f"line {i}" for i in range(100_000))
        assert parse(text).exception == "line 99997\nline 99998\nline 99999"

    def test_a_huge_cut_traceback_shows_at_most_500_characters(self):
        code = "x" * 2000
        text = f'  File "{PROJECT}", line 3, in f\n    {code}\n'
        assert parse(text).exception == text.strip()[-500:]

    def test_html_stays_as_text_for_the_template_to_escape(self):
        text = SIMPLE.replace("division by zero", "<script>alert('x')</script>")
        traceback = parse(text)
        assert traceback.exception == "ZeroDivisionError: <script>alert('x')</script>"
        assert '<img src=x onerror="1">' in parse('<img src=x onerror="1">').exception

    def test_a_path_with_quotes_missing_is_no_frame(self):
        assert parse("  File /no/quotes.py, line 3, in f\nError: e").frames == []


def test_a_traceback_is_a_dataclass_with_defaults():
    assert Traceback(exception="E") == Traceback(exception="E", frames=[], chained=0, text="")

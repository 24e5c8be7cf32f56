import pytest

from core.cli import build_parser, main
from core.errors import CatalogError


def test_no_command_prints_help_and_fails(capsys):
    assert main([]) == 1
    assert "usage: sedscape" in capsys.readouterr().out


@pytest.mark.parametrize("verb", ["mock", "ingest", "train", "score", "report", "fetch", "crossmatch"])
def test_every_verb_is_registered(verb):
    parser = build_parser()
    with pytest.raises(SystemExit) as exc:
        parser.parse_args([verb, "--help"])
    assert exc.value.code == 0


def test_user_errors_become_exit_code_2_with_message(monkeypatch, capsys):
    parser = build_parser()

    def failing(args):
        raise CatalogError("sky.parquet: missing required column(s) g_err")

    monkeypatch.setattr("core.cli.build_parser", lambda: parser)
    args = parser.parse_args(["ingest", "x.csv", "--out", "y.parquet"])
    monkeypatch.setattr(parser, "parse_args", lambda argv=None: args)
    args.func = failing
    assert main(["ingest"]) == 2
    err = capsys.readouterr().err
    assert "sedscape ingest: error:" in err and "g_err" in err


def test_environment_errors_become_exit_code_2_without_traceback(monkeypatch, capsys):
    """A write that the system refuses half-way (here: a vanished folder) is one line, not a traceback."""
    parser = build_parser()
    args = parser.parse_args(["ingest", "x.csv", "--out", "y.parquet"])
    monkeypatch.setattr("core.cli.build_parser", lambda: parser)
    monkeypatch.setattr(parser, "parse_args", lambda argv=None: args)

    def failing(args):
        with open("/nonexistent-folder/y.parquet", "wb"):
            pass

    args.func = failing
    assert main(["ingest"]) == 2
    err = capsys.readouterr().err
    assert err == "sedscape ingest: error: No such file or directory: /nonexistent-folder/y.parquet\n"

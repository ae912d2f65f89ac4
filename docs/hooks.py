"""mkdocs hook: the command-line page shows every command's ``--help``, generated at build time.

``{{ cli_help }}`` in a page is replaced by one section per command with its help text, so the
page cannot drift from the code.
"""

from __future__ import annotations


def _sections() -> str:
    import typer

    from sptmotion.cli import app

    root = typer.main.get_command(app)
    out = []

    def walk(cmd, path: list[str]) -> None:
        # typer bundles its own click: duck-type groups and use the command's context class
        ctx = cmd.context_class(cmd, info_name=" ".join(["sptmotion", *path]))
        if hasattr(cmd, "commands"):
            for name in cmd.list_commands(ctx):
                walk(cmd.commands[name], [*path, name])
            return
        out.append(f"## `sptmotion {' '.join(path)}`\n\n```text\n{cmd.get_help(ctx)}\n```\n")

    walk(root, [])
    return "\n".join(out)


def on_page_markdown(markdown: str, page, config, files) -> str:  # noqa: ARG001 - mkdocs API
    if "{{ cli_help }}" in markdown:
        markdown = markdown.replace("{{ cli_help }}", _sections())
    return markdown

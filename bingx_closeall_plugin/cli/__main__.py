"""``python -m bingx_closeall_plugin.cli``: bingx-closeall."""

from .command import entry

if __name__ == "__main__":
    entry()

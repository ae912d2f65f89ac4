"""``python -m sptmotion``: the command line."""

from sptmotion.cli import console_main

if __name__ == "__main__":
    console_main()

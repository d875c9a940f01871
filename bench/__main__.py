"""make bench: every benchmark, one after another."""

from bench import local

if __name__ == "__main__":
    local.main()

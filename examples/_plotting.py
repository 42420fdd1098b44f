"""Figures for the examples. matplotlib is optional (the `examples` extra): without it the
examples still train and report, and say that they skipped their figures."""

import os


def pyplot():
    """matplotlib.pyplot on a file-only backend, or None (with a message) when it is missing."""
    try:
        import matplotlib
    except ImportError:
        print("matplotlib not installed: skipping figures")
        return None
    if os.environ.get("MPLBACKEND") is None:
        matplotlib.use("Agg")  # figures go to files; no display needed
    import matplotlib.pyplot as plt

    return plt


def save(fig, path, **savefig_kwargs):
    """Write ``fig`` to ``path`` (creating its folder), close it and say where it went."""
    import matplotlib.pyplot as plt

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fig.savefig(path, **savefig_kwargs)
    plt.close(fig)
    print(f"saved {path}")

"""Figure helpers shared by the analyses (non-interactive backend, one save path)."""


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save(fig, path, dpi=120):
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    pyplot().close(fig)

"""Figure helpers shared by the analyses (non-interactive backend, one save path)."""


def pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def save(fig, path, dpi=120):
    """Lay out, write atomically (analysis.files.save_figure) and close."""
    from .files import save_figure
    fig.tight_layout()
    try:
        save_figure(fig, path, dpi=dpi)
    finally:
        pyplot().close(fig)

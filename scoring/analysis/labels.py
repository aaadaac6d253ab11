"""Human labels shared by the post-mortem text and the run report."""


def clock_label(t_s: float) -> str:
    """Time into the run as ``T+mm:ss``; minutes may exceed 59.

    >>> clock_label(754)
    'T+12:34'
    """
    minutes, seconds = divmod(int(round(t_s)), 60)
    return f"T+{minutes:02d}:{seconds:02d}"

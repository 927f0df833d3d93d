"""Analysis of simglass results files: disorder averages with errors, fits, figures."""

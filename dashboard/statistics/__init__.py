"""The statistics layer: figures for the insights pages, kept up to date from the results table.

``histogram`` (mergeable log-scale histograms), ``buckets`` (time buckets
and windows), ``models`` (the tables), ``rollup`` (the incremental pass)
and ``queries`` (what the pages read). Statistics are never computed on the
workers' write path, and pages never aggregate the results table.
"""

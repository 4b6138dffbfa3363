"""Near-duplicates in an index: pairs, groups, search, the distributed join and the HTML report."""

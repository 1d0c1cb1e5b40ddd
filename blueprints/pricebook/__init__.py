"""ServiceTitan pricebook: pull, browse, local edits, push with three-way merge, conflicts, images, pricing."""

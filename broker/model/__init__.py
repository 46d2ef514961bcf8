"""The broker's domain, pure: the catalog, parameters, options, records and credentials."""

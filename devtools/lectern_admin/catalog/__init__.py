"""Catalog as code, an operator tool (never deployed): make the catalog table, the assets bucket
and Stripe match a catalog file (docs/catalog.md).

    catalog_file  YAML file -> CatalogSpec (validated)
    apply         CatalogSpec -> table and bucket, then Stripe through price_sync
    price_sync    one Stripe Product and one active Price per priced course
    changes       what an apply reports: a Change per item, and its action
"""

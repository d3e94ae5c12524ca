"""Erasure: removing an erased person from everything the pipeline writes.

Who is erased is decided in dbt (`int_customers_erased`, every identity of theirs in
`pii.erased_identities`); what the models build from it leaves their values out (contacts, the
customer dimension). The modules here do what SQL models cannot: `warehouse` redacts the
delivered rows themselves in `raw` and `quarantine`, `exports` rewrites the segment files of
earlier days, and `landing` counts the retailer's own landing files that still name them.
"""

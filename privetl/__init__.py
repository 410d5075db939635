"""privetl: governed, audited pipelines that publish cleaned, provably anonymized data modules."""

__version__ = "0.1.0"

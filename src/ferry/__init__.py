"""Ferry: move a healthcare practice's data into a sales CRM, verifiably and reversibly."""

__version__ = "0.1.0"
__all__ = ["__version__"]

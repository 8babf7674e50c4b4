"""LAScarQS data: reader, validation, cached preprocessing, folds, synthetic phantoms
(docs/design.md §5, §7)."""

from .folds import assign_folds, split
from .input_checks import check_dataset, load_case
from .layout import Case, list_cases
from .nifti_io import DataError, read_volume, write_volume
from .phantom import make_phantom, write_phantom_dataset
from .preprocess import PreprocessConfig, Preprocessed, preprocess_case

__all__ = [
    "assign_folds",
    "split",
    "Case",
    "list_cases",
    "DataError",
    "read_volume",
    "write_volume",
    "make_phantom",
    "write_phantom_dataset",
    "PreprocessConfig",
    "Preprocessed",
    "preprocess_case",
    "check_dataset",
    "load_case",
]

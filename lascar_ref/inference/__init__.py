"""Inference: the Gaussian sliding window, whole-scan prediction of new scans and what
predict.py reads — paper §4.2; docs/design.md §6, §10."""

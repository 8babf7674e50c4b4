"""eval.py — metrics and sliding-window evaluation (DESIGN.md §6): not yet implemented (metrics issue)."""
import sys

if __name__ == "__main__":
    sys.exit("eval.py: not yet implemented (the metrics / eval issue has not landed). "
             "The model is usable from Python: lascar_ref.models.SwinUNETR / DualSwinUNETR.")

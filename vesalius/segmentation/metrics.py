"""Instance-segmentation accuracy as in the DSB2018 / StarDist evaluation.

For an IoU threshold t, a predicted object and a true object match when their IoU > t (for
t ≥ 0.5 a match is necessarily one-to-one); AP(t) = TP / (TP + FP + FN).
"""

import numpy as np


def iou_matrix(truth: np.ndarray, predicted: np.ndarray) -> np.ndarray:
    """IoU of every (true label, predicted label) pair; row 0 / column 0 are background."""
    t = truth.ravel().astype(np.int64)
    p = predicted.ravel().astype(np.int64)
    nt, np_ = int(t.max()) + 1, int(p.max()) + 1
    overlap = np.bincount(t * np_ + p, minlength=nt * np_).reshape(nt, np_).astype(np.float64)
    area_t = overlap.sum(axis=1, keepdims=True)
    area_p = overlap.sum(axis=0, keepdims=True)
    union = area_t + area_p - overlap
    with np.errstate(divide="ignore", invalid="ignore"):
        iou: np.ndarray = np.where(union > 0, overlap / union, 0.0)
    return iou


def average_precision(
    truth: np.ndarray, predicted: np.ndarray, thresholds: tuple[float, ...] = (0.5,)
) -> dict[float, float]:
    iou = iou_matrix(truth, predicted)[1:, 1:]
    # Only labels that exist count (labels may have gaps after filtering).
    present_t = np.isin(np.arange(1, iou.shape[0] + 1), np.unique(truth))
    present_p = np.isin(np.arange(1, iou.shape[1] + 1), np.unique(predicted))
    iou = iou[present_t][:, present_p]
    n_true, n_pred = iou.shape
    result = {}
    for threshold in thresholds:
        tp = int(np.count_nonzero(iou > threshold)) if threshold >= 0.5 else 0
        denominator = n_true + n_pred - tp
        result[threshold] = tp / denominator if denominator else 1.0
    return result

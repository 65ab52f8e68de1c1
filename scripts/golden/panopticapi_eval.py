"""Runs COCO panopticapi's pq_compute on one core and writes its result JSON.

Used to make test/golden/eval/*/expected.json and by bench/eval.ts for the speed comparison.
panopticapi itself is not part of this repository: pass the folder that holds its `panopticapi`
package (evaluation.py and utils.py), e.g. /tmp/panopticapi.

usage: python3 panopticapi_eval.py PANOPTICAPI_DIR GT_JSON GT_DIR PRED_JSON PRED_DIR OUT_JSON
Prints, as the last line of stdout, four numbers of seconds separated by spaces: the wall and CPU time
pq_compute took, then the wall and CPU time its way of reading the PNGs (PIL + numpy + rgb2id) takes
alone on the same files.
"""
import contextlib
import json
import os
import sys
import time


def main():
    api_dir, gt_json, gt_dir, pred_json, pred_dir, out_json = sys.argv[1:7]
    sys.path.insert(0, api_dir)
    from panopticapi import evaluation

    # pq_compute spreads images over a process pool; one core keeps timings comparable with ours.
    def single_core(matched_annotations_list, gt_folder, pred_folder, categories):
        return evaluation.pq_compute_single_core(0, matched_annotations_list, gt_folder, pred_folder, categories)

    evaluation.pq_compute_multi_core = single_core
    with contextlib.redirect_stdout(sys.stderr):
        start = (time.perf_counter(), time.process_time())
        results = evaluation.pq_compute(gt_json, pred_json, gt_dir, pred_dir)
        total = (time.perf_counter() - start[0], time.process_time() - start[1])
    with open(out_json, 'w') as f:
        json.dump(results, f, indent=2)
        f.write('\n')
    print(*total, *png_reading_seconds(evaluation, gt_json, gt_dir, pred_json, pred_dir))


def png_reading_seconds(evaluation, gt_json, gt_dir, pred_json, pred_dir):
    """Times the PNG reading lines of pq_compute_single_core on their own."""
    import numpy as np
    from PIL import Image
    files = []
    for json_file, folder in ((gt_json, gt_dir), (pred_json, pred_dir)):
        with open(json_file) as f:
            files += [os.path.join(folder, a['file_name']) for a in json.load(f)['annotations']]
    start = (time.perf_counter(), time.process_time())
    for file in files:
        evaluation.rgb2id(np.array(Image.open(file), dtype=np.uint32))
    return time.perf_counter() - start[0], time.process_time() - start[1]


if __name__ == '__main__':
    main()

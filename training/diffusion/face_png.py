"""Writes face i of a packed dataset as a PNG and prints its landmarks: inputs for timing a drag on the model.

Usage: /usr/bin/python3 training/diffusion/face_png.py DATA INDEX OUT.png
Prints 'name x,y' per landmark (output pixels; training/faces/README.md), e.g. to build --points.
"""
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'stylegan2'))
import pngio  # noqa: E402
from dataset import PackedImages  # noqa: E402


def main():
    data, index, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    images = PackedImages(data)
    if not 0 <= index < images.count:
        raise SystemExit(f'index {index} is outside the dataset (0..{images.count - 1})')
    pngio.write_png(out, np.array(images.images[index]))
    with open(os.path.join(data, 'meta.json')) as f:
        names = json.load(f)['landmarkNames']
    marks = np.memmap(os.path.join(data, 'landmarks.f32'), dtype='<f4', mode='r', shape=(images.count, len(names), 2))
    for name, (x, y) in zip(names, marks[index]):
        print(f'{name} {x:.1f},{y:.1f}')


if __name__ == '__main__':
    main()

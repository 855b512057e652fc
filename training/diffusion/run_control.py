"""Stopping and checkpointing, shared by the diffusion training scripts (train.py, train_decoder.py)."""
import os
import signal

import torch


def stop_on_signals():
    """-> a dict whose 'now' turns True at SIGTERM or SIGINT, so the loop checkpoints after its step and exits."""
    stop = {'now': False}

    def on_signal(signum, _frame):
        print(f'signal {signum}: checkpointing after this step', flush=True)
        stop['now'] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def save_atomically(state, path):
    tmp = path + '.tmp'
    torch.save(state, tmp)
    os.replace(tmp, path)  # a session ending mid-write leaves the previous checkpoint

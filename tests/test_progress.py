"""The command line's training progress: a redrawn bar on a terminal, plain lines elsewhere."""

import io

from cgmvae.progress import EpochProgress, scores


class Terminal(io.StringIO):
    def isatty(self):
        return True


def record(epoch, max_epochs=25, seconds=2.0):
    return {"epoch": epoch, "max_epochs": max_epochs, "train_loss": 1.0 / epoch,
            "val_mean_auc": 0.5 + epoch / 100, "val_micro_f1": 0.3, "val_macro_f1": 0.2,
            "val_loss": 0.7, "threshold": 0.5, "seconds": seconds}


def test_the_score_shown_is_the_first_validation_score_of_the_record():
    assert scores(record(2)) == {"loss": 0.5, "val_mean_auc": 0.52}


def test_off_a_terminal_it_writes_plain_lines_with_the_time_left_if_every_epoch_runs():
    log = io.StringIO()
    with EpochProgress(file=log, log_every=10) as progress:
        for epoch in range(1, 13):  # early stopping after 12 of up to 25 epochs
            progress(record(epoch))
    lines = log.getvalue().splitlines()
    assert "\r" not in log.getvalue() and len(lines) == 3  # epochs 1, 10, and 12 at the end
    assert lines[0] == ("epoch 1/25: loss 1.0000, val_mean_auc 0.5100; 2.00 s/epoch, at most "
                        "00:48 left")
    assert lines[1].startswith("epoch 10/25:") and lines[1].endswith("at most 00:30 left")
    assert lines[2].startswith("epoch 12/25: loss 0.0833, val_mean_auc 0.6200")


def test_on_a_terminal_one_bar_is_redrawn_with_loss_score_and_time_left():
    screen = Terminal()
    with EpochProgress(file=screen) as progress:
        for epoch in range(1, 4):
            progress(record(epoch, max_epochs=5))
    text = screen.getvalue()
    assert "\r" in text and text.endswith("\n")
    last = text.rstrip("\n").split("\r")[-1]
    assert "3/5" in last and "loss=0.333" in last and "val_mean_auc=0.53" in last
    assert "<" in last  # tqdm's "elapsed<remaining"

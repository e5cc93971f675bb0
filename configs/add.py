"""The post's experiment, faithfully: addition of two numbers in 0..999.

    python launch.py --config=configs/add.py

30,000 distinct ordered pairs (a != b), the first 10% held out as the test
set; BiLSTM(20) encoder, RepeatVector(5), BiLSTM(20) decoder, batch norm after
each, Adam(0.01), batch 256, 200 epochs, best checkpoint by validation loss.
The model has exactly the post's 15,893 trainable parameters.

Expect (2-core CPU): see the README's results table for the epochs and
seconds each seed took to reach exact-match 0.999 on the 3,000 test
equations, and the grid evaluation of all 1,000,000 equations at the end.
"""

from lstm_math import config as config_lib


def get_config():
  return config_lib.base()

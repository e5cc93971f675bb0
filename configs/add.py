"""The post's experiment, faithfully: addition of two numbers in 0..999.

    python launch.py --config=configs/add.py

Expect (2-core CPU): test exact-match 0.999 by epoch 74 to 132, then 288 to
1,199 of the 1,000,000 grid equations wrong (seeds 0, 1, 2); 72 to 86 s.

The post's settings, unchanged: 30,000 distinct pairs (10% test), BiLSTM(20)
encoder and decoder with batch norm, Adam 0.01, batch 256, 200 epochs; the
model has exactly the post's 15,893 parameters.
"""

from lstm_math import config as config_lib


def get_config():
  return config_lib.base()

"""The post's experiment, faithfully: addition of two numbers in 0..999.

    python launch.py --config=configs/add.py

Expect (1 core, seeds 0-2): 0.999 at epoch 97, 184, 82; 117-981/1M wrong; 2 min

The post's settings, unchanged: 30,000 distinct pairs (10% test), BiLSTM(20)
encoder and decoder with batch norm, Adam 0.01, batch 256, 200 epochs; the
model has exactly the post's 15,893 parameters.
"""

from lstm_math import config as config_lib


def get_config():
  return config_lib.base()

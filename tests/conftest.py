"""Test set-up: 8 fake CPU devices, set before JAX starts."""

import os
import sys
import tempfile

os.environ['XLA_FLAGS'] = (
  os.environ.get('XLA_FLAGS', '') + ' --xla_force_host_platform_device_count=8'
).strip()
os.environ.setdefault('JAX_PLATFORMS', 'cpu')
# Commands the tests start compile into a cache of their own, shared by the
# session and never the user's (~/.cache/lstm_math).
os.environ['LSTM_MATH_CACHE'] = tempfile.mkdtemp(prefix='lstm_math_xla_')
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

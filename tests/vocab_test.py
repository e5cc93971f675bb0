"""Tests of the character table: symbol order, ids, encode and decode."""

import re

from absl.testing import absltest
from absl.testing import parameterized
import numpy as np
import pytest
import runs

from lstm_math import vocab as vocab_lib


class SymbolsTest(parameterized.TestCase):
  def test_addition_is_the_posts_13_symbols(self):
    voc = vocab_lib.Vocab('+')
    self.assertEqual(
      voc.symbols,
      '0123456789+ \0',
      msg=f"addition symbols are {voc.symbols!r}, not the post's order",
    )
    self.assertEqual(voc.size, 13, msg='the post has 13 addition symbols')

  @parameterized.named_parameters(
    ('plus', '+', '0123456789+ \0'),
    ('minus', '-', '0123456789- \0'),
    ('times', '*', '0123456789* \0'),
    ('divide', '/', '0123456789/ \0'),
    ('plus_minus', '+-', '0123456789+- \0'),
    ('all_in_order', '+-*/', '0123456789+-*/ \0'),
    ('all_shuffled', '/*-+', '0123456789+-*/ \0'),
    ('times_plus', '*+', '0123456789+* \0'),
    ('repeated', '++--', '0123456789+- \0'),
  )
  def test_symbol_order(self, operators, expected):
    voc = vocab_lib.Vocab(operators)
    self.assertEqual(
      voc.symbols,
      expected,
      msg=f'Vocab({operators!r}) must list digits, then its operators in'
      ' +-*/ order, then space and end',
    )
    self.assertEqual(voc.size, len(expected))

  @parameterized.named_parameters(
    ('plus', '+'), ('mixed', '+-*/'), ('divide', '/')
  )
  def test_special_ids(self, operators):
    voc = vocab_lib.Vocab(operators)
    self.assertEqual(
      voc.pad_id, voc.size, msg='pad id must be just past the last symbol'
    )
    self.assertEqual(voc.eos_id, voc.size - 1, msg='end is the last symbol')
    self.assertEqual(voc.space_id, voc.size - 2, msg='space precedes end')
    self.assertEqual(voc.symbols[voc.eos_id], '\0')
    self.assertEqual(voc.symbols[voc.space_id], ' ')
    for op in voc.operators:
      self.assertEqual(
        voc.symbols[voc.op_id(op)],
        op,
        msg=f'op_id({op!r}) points at the wrong symbol',
      )

  def test_digit_id_is_its_value(self):
    for operators in ('+', '-', '+-*/'):
      voc = vocab_lib.Vocab(operators)
      for d in range(10):
        self.assertEqual(
          int(runs.encode(voc, str(d))[0]),
          d,
          msg=f'Vocab({operators!r}): digit {d} has another id',
        )

  def test_minus_id(self):
    self.assertEqual(vocab_lib.Vocab('+-').minus_id, 11)
    self.assertEqual(vocab_lib.Vocab('-*').minus_id, 10)
    with pytest.raises(ValueError, match='no minus sign'):
      _ = vocab_lib.Vocab('+').minus_id

  def test_equal_operator_sets_give_equal_vocabs(self):
    self.assertEqual(
      vocab_lib.Vocab('-+'),
      vocab_lib.Vocab('+-'),
      msg='operators are canonicalised, so the vocabs match',
    )
    self.assertEqual(hash(vocab_lib.Vocab('*/')), hash(vocab_lib.Vocab('/*')))

  @parameterized.named_parameters(
    ('unknown', 'x'),
    ('empty', ''),
    ('one_bad', '+x'),
    ('caret', '^'),
    ('digit', '1'),
    ('space', ' '),
  )
  def test_bad_operator_sets_raise(self, operators):
    with pytest.raises(ValueError, match=re.escape(f'operators={operators!r}')):
      vocab_lib.Vocab(operators)


class EncodeDecodeTest(parameterized.TestCase):
  @parameterized.named_parameters(
    ('sum', '+', '89 + 7'),
    ('zeros', '+', '0 + 0'),
    ('long', '+', '999 + 999'),
    ('mixed', '+-*/', '131 + 83 - 744 * 33 / 2'),
    ('negative', '+-', '-82'),
    ('answer', '+', '  96'),
    ('empty', '+', ''),
  )
  def test_round_trip(self, operators, text):
    voc = vocab_lib.Vocab(operators)
    ids = runs.encode(voc, text)
    self.assertEqual(ids.dtype, np.int32)
    self.assertEqual(ids.shape, (len(text),))
    self.assertEqual(
      voc.decode(ids), text, msg=f'{text!r} did not survive encode/decode'
    )
    # With end-of-sequence and padding after it, too.
    padded = runs.encode(voc, text + '\0', length=len(text) + 4)
    self.assertEqual(voc.decode(padded), text)

  def test_encode_ids(self):
    voc = vocab_lib.Vocab('+')
    np.testing.assert_array_equal(
      runs.encode(voc, '89 + 7\0'),
      [8, 9, 11, 10, 11, 7, 12],
      err_msg='ids of "89 + 7" in the post\'s table',
    )

  def test_decode_stops_at_end_of_sequence(self):
    voc = vocab_lib.Vocab('+')
    ids = runs.encode(voc, '12\0' + '34')
    self.assertEqual(
      voc.decode(ids), '12', msg='decode must stop at the first end symbol'
    )
    self.assertEqual(voc.decode(runs.encode(voc, '\0' + '5')), '')

  def test_decode_skips_padding(self):
    voc = vocab_lib.Vocab('+')
    ids = [1, voc.pad_id, 2, voc.pad_id, voc.pad_id, 3, voc.eos_id, 4]
    self.assertEqual(
      voc.decode(ids),
      '123',
      msg='pad ids must be skipped, not decoded or fatal',
    )
    self.assertEqual(
      voc.decode(np.asarray([[1, 2], [3, voc.pad_id]])),
      '123',
      msg='decode reads any shape row-major',
    )


if __name__ == '__main__':
  absltest.main()
